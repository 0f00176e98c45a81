from django.utils import timezone

from common.read_cache import ENTRY_SECONDS
from newsroom.models import News


def feed_seconds() -> float:
    """How long the feed as read from now may be kept: until the next scheduled item is out."""
    now = timezone.now()
    upcoming = News.objects.filter(published_at__gt=now).order_by("published_at").values_list("published_at").first()
    return (upcoming[0] - now).total_seconds() if upcoming else ENTRY_SECONDS
