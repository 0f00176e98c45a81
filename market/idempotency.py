"""`Idempotency-Key`: a team's repeated request gets the first answer, and never trades twice.

The first copy inserts the key's row and runs, storing its answer in that row in the same
transaction. A copy arriving meanwhile blocks on the unique index until the first commits
(then finds the answer and replays it) or rolls back (then runs itself). Keys wait only for
their own copies: no lock outside the trade's own locking order is taken.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

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
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    participant=participant, key=key, fingerprint=fingerprint, status_code=0, response={}
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(participant=participant, key=key)
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request; use a new key."
                ) from None
            return record.status_code, record.response, True
        with transaction.atomic():  # a savepoint: a refused call leaves nothing behind
            status, body = call()
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status, response=body)
        return status, body, False
