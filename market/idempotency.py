"""`Idempotency-Key`: a team's repeated request gets the first answer, and never trades twice.

Copies of one request are serialised by the same row lock that serialises the team's trades:
the first copy runs and stores its answer in the same transaction; the others wait for the
lock, find the answer and replay it.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import transaction

from market.errors import IdempotencyKeyReused
from market.models import IdempotencyRecord, Participant

MAX_KEY_LENGTH = 255


def fingerprint(data: Any) -> str:
    """A stable hash of a request body: same content, same fingerprint, whatever the key order."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(
    *, participant: Participant, key: str, fingerprint: str, call: Callable[[], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """Run `call` once per (team, key); return (status, body, replayed)."""
    with transaction.atomic():
        Participant.objects.select_for_update().filter(pk=participant.pk).values_list("pk", flat=True).get()
        record = IdempotencyRecord.objects.filter(participant=participant, key=key).first()
        if record is not None:
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request; use a new key."
                )
            return record.status_code, record.response, True
        with transaction.atomic():  # a savepoint: a refused call leaves nothing behind
            status, body = call()
        IdempotencyRecord.objects.create(
            participant=participant, key=key, fingerprint=fingerprint, status_code=status, response=body
        )
        return status, body, False
