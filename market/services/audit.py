"""The audit log: every organiser's action that changes money, prices, the market or accounts."""

from accounts.models import User
from market.models import AuditEntry


def audit(*, by: User | None, action: str, target: str = "", **data) -> AuditEntry:
    return AuditEntry.objects.create(actor=by, action=action, target=target, data=data)
