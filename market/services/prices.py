"""Companies and their prices: listing, editing, and a price change (history, every holder
revalued, audit, the live `price` event)."""

from datetime import datetime
from decimal import Decimal

from django.db import DataError, connection, transaction
from django.utils import timezone

from accounts.models import User
from common import sql as db
from common.logs import activity
from common.problems import InvalidInput
from common.read_cache import reads_changed
from market import events, sql
from market.errors import PriceChanged
from market.events import leaderboard_changed
from market.models import MAX_PRICE, Company, Participant, PricePoint
from market.money import money
from market.services import locks
from market.services.audit import audit
from market.services.bells import current_day_number
from market.services.fills import fills_after_commit
from overlay.events import broadcast


def _check_price(price: Decimal, field: str = "current_price") -> Decimal:
    price = money(price)
    if price <= 0 or price > MAX_PRICE:
        raise InvalidInput(
            "The price must be above 0 and at most 999,999,999,999.99.", errors={field: ["Out of range."]}
        )
    return price


@transaction.atomic
def company_create(
    *,
    by: User | None,
    ticker: str,
    name: str,
    current_price: Decimal,
    previous_price: Decimal | None = None,
    description: str = "",
    financials: dict | None = None,
    is_active: bool = True,
) -> Company:
    price = _check_price(current_price)
    previous = _check_price(previous_price, "previous_price") if previous_price is not None else price
    company = Company.objects.create(
        ticker=ticker,
        name=name,
        description=description,
        financials=financials or {},
        current_price=price,
        previous_price=previous,
        is_active=is_active,
    )
    PricePoint.objects.create(company=company, price=price, at=company.created_at, day=current_day_number())
    audit(by=by, action="company_create", target=f"company:{ticker}", price=str(price))
    reads_changed("companies")
    activity("price", f"{ticker} listed at {price}", ticker=ticker, price=price, by_user_id=by and by.pk)
    broadcast("price", events.price(company))
    return company


@transaction.atomic
def company_update(*, company: Company, by: User | None, **changes) -> Company:
    """Change a company's name, description, financials or tradability (its price: `price_set`)."""
    allowed = {"ticker", "name", "description", "financials", "is_active", "previous_price"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"company_update() got unexpected fields {sorted(unknown)}")
    if not changes:
        return company
    # Locked like a price change, and read afresh: the event must carry the price of now.
    locks.company_price(company.pk)
    company = Company.objects.select_for_update().get(pk=company.pk)
    old = {name: getattr(company, name) for name in sorted(changes)}
    for name, value in changes.items():
        setattr(company, name, value)
    company.save(update_fields=[*changes, "updated_at"])
    audit(
        by=by, action="company_update", target=f"company:{company.ticker}", old=old, new=dict(sorted(changes.items()))
    )
    reads_changed("companies")
    broadcast("price", events.price(company))
    if changes.get("is_active"):
        fills_after_commit()  # tradable again: its waiting orders may be due
    return company


@transaction.atomic
def price_set(
    *,
    company: Company,
    price: Decimal,
    by: User | None,
    now: datetime | None = None,
    expected_price: Decimal | None = None,
) -> Company:
    """Change a company's price: history row, every holder revalued, audit entry.

    With `expected_price` (the price the organiser saw), refused with `PriceChanged` when the
    price moved meanwhile, so one organiser never silently overwrites another's change.
    """
    price = _check_price(price)
    now = now or timezone.now()
    locks.company_price(company.pk)
    locked = Company.objects.select_for_update().get(pk=company.pk)
    old = locked.current_price
    if expected_price is not None and money(expected_price) != old:
        raise PriceChanged(f"The price of {locked.ticker} is now {old}.", price=str(old))
    if price == old:
        return locked
    locked.current_price = price
    locked.save(update_fields=["current_price", "updated_at"])
    PricePoint.objects.create(company=locked, price=price, at=now, day=current_day_number())
    holders = _revalue_holders(locked)
    audit(by=by, action="price_set", target=f"company:{locked.ticker}", old=str(old), new=str(price))
    # A stock nobody holds moves no team's value: the leaderboard stays as it was, and so do the
    # screens showing it (no leaderboard event to every socket for nothing).
    reads_changed(*(("companies", "leaderboard") if holders else ("companies",)))
    activity(
        "price",
        f"{locked.ticker} {old} -> {price}",
        ticker=locked.ticker,
        old_price=old,
        price=price,
        holders=holders,
        by_user_id=by and by.pk,
    )
    broadcast("price", events.price(locked))
    if holders:
        leaderboard_changed()
    fills_after_commit()  # the waiting orders the new price makes due
    return locked


def _revalue_holders(company: Company) -> int:
    """Every team holding the company valued at its new price; how many there are. The holders
    are locked first (in id order), so the UPDATE's fresh snapshot sees holdings changed by trades
    that were under way; later trades of this company wait for its price lock."""
    holders = list(
        Participant.objects.filter(holdings__company=company, holdings__quantity__gt=0)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The trade's own sum of a team's holdings, all holders in one pass, chosen by the
            # company rather than by a parameter per holder (docs/performance.md).
            cursor.execute(sql.HOLDERS_REVALUE, [db.db_id(Company, company.pk)])
    except DataError as exc:
        raise InvalidInput(
            "At this price a team's value would be too large to record.", errors={"current_price": ["Too large."]}
        ) from exc
    return len(holders)


@transaction.atomic
def company_edit(*, company: Company, by: User | None, current_price: Decimal | None = None, **changes) -> Company:
    """An organiser's edit of a company, its price included (the API, the admin, an import):
    the other fields first (`company_update`), then the price through `price_set`, in one
    transaction."""
    company = company_update(company=company, by=by, **changes)
    if current_price is not None:
        company = price_set(company=company, price=current_price, by=by)
    return company
