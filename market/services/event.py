"""The event's own settings changed from the control room: the overlay token."""

import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from market.models import EventSettings
from market.services.audit import audit
from overlay.events import overlay_token_rotated


@transaction.atomic
def overlay_token_rotate(*, by: User | None) -> str:
    """A new overlay token, in force at once: it replaces the old one (or the OVERLAY_TOKEN
    variable, for good), and after the commit every overlay socket and SSE stream opened with a
    token closes. Returns the new token; the audit entry says only that it was rotated."""
    token = secrets.token_urlsafe(24)
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(overlay_token=token, updated_at=timezone.now())
    audit(by=by, action="overlay_token_rotate", target="eventsettings:1", overlay_token="rotated")
    overlay_token_rotated()
    return token
