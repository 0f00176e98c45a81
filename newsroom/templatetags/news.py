"""The newest published news for any page: `{% latest_news 5 as news %}` (the market page shows
them beside the prices; the market app imports nothing of the newsroom, above it)."""

from django import template

from newsroom.models import News

register = template.Library()


@register.simple_tag
def latest_news(count: int = 5):
    return News.objects.feed()[:count]
