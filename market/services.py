"""The market's state changes: bells, prices, trades, teams. Each is one database transaction.

Locking order, the same everywhere so nothing deadlocks:
  event settings → the bell → a company → participants (by id) → holdings.
On PostgreSQL "the bell" and "a company" are transaction-scoped advisory locks: a trade holds
both shared, the closing bell takes the bell exclusively and a price change its company. The
lock manager queues them fairly: once a bell or a price change is waiting, trades that come
after it wait behind it, so a stream of trades can never hold either off. (Shared row locks
would not do: PostgreSQL grants a new share lock on a row even while an update waits for it.)
So the closing bell waits for the trades under way and no trade slips in after it; a price
change waits for trades under way on that company and the next ones fill at the new price;
trades of different teams on one hot stock run side by side; and one team's trades run one at
a time on its participant row. Every change to a team's holdings (a trade, a reversal) takes its
participant row first, so a trade reads the holdings without locking them again; a reversal still
locks its one holding. SQLite's IMMEDIATE transactions serialise every writer instead.
"""

import secrets
import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Count, DecimalField, F, Max, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role, User
from common import metrics
from common.logs import activity
from common.problems import InvalidInput
from common.read_cache import reads_changed
from market import events, selectors, sql
from market.errors import (
    AlreadyRegistered,
    CompanyInactive,
    InsufficientFunds,
    InsufficientShares,
    MarketAlreadyClosed,
    MarketAlreadyOpen,
    MarketClosed,
    ParticipantFrozen,
    PriceChanged,
    ReversalRefused,
    SignupClosed,
)
from market.events import leaderboard_changed
from market.models import (
    MAX_QUANTITY,
    AuditEntry,
    CashAdjustment,
    Company,
    DailyValue,
    EventSettings,
    Holding,
    Participant,
    PricePoint,
    TradeType,
    TradingDay,
    Transaction,
)
from market.money import AVERAGE_PLACES, ZERO, average_cost, money
from overlay.events import broadcast, overlay_token_rotated

MAX_PRICE = Decimal("999999999999.99")  # NUMERIC(14,2)
MAX_CASH = Decimal("99999999999999.99")  # NUMERIC(16,2)


def audit(*, by: User | None, action: str, target: str = "", **data) -> AuditEntry:
    return AuditEntry.objects.create(actor=by, action=action, target=target, data=data)


def _money_field() -> DecimalField:
    return DecimalField(max_digits=18, decimal_places=2)


def revalue(participants: QuerySet) -> int:
    """Set portfolio_value = cash + holdings at current prices, in one UPDATE (the trade computes
    the same value in its own SQL: market.sql.HOLDINGS_VALUE)."""
    holdings_value = (
        Holding.objects.filter(participant=OuterRef("pk"))
        .values("participant")
        .annotate(value=Sum(F("quantity") * F("company__current_price"), output_field=_money_field()))
        .values("value")
    )
    return participants.update(
        portfolio_value=F("cash") + Coalesce(Subquery(holdings_value), Value(ZERO), output_field=_money_field())
    )


# Teams


@transaction.atomic
def participant_create(
    *,
    user: User,
    display_name: str,
    school: str = "",
    starting_cash: Decimal | None = None,
    by: User | None = None,
) -> Participant:
    """A new team with the event's starting cash (or the given amount), valued at its cash. An
    organiser's account never becomes a team. Audited when an organiser (`by`) creates it."""
    if user.role != "participant":
        raise InvalidInput("An organiser's account cannot be a team.", errors={"user": ["Pick a participant account."]})
    if starting_cash is None:
        starting_cash = EventSettings.load().starting_cash
    cash = money(starting_cash)
    if cash < 0 or cash > MAX_CASH:
        raise InvalidInput("Starting cash is out of range.", errors={"starting_cash": ["Out of range."]})
    team = Participant.objects.create(
        user=user,
        display_name=display_name,
        school=school,
        cash=cash,
        starting_cash=cash,
        portfolio_value=cash,
    )
    reads_changed("leaderboard")
    if by is not None:
        new = {"email": user.email, "display_name": display_name, "school": school, "starting_cash": cash}
        audit(by=by, action="participant_create", target=_team(team), new=new)
    return team


def signup_is_open() -> bool:
    return settings.SIGNUP_OPEN and EventSettings.load().signup_open


def team_signup(*, email: str, password: str, display_name: str, school: str = "") -> Participant:
    """Create a participant account and its team. Sign-up never makes an admin."""
    if not signup_is_open():
        raise SignupClosed("Sign-up is closed for this event. Ask the organisers for an account.")
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, role=Role.PARTICIPANT)
            return participant_create(user=user, display_name=display_name, school=school)
    except IntegrityError as exc:
        # Two sign-ups raced past the serializer's check; the database decided.
        field = "display_name" if "display_name" in str(exc) else "email"
        raise AlreadyRegistered(field) from exc


def participant_rename(*, participant: Participant, display_name: str, school: str, by: User | None) -> Participant:
    """A team's name and school, as the team or an organiser changes them."""
    try:
        with transaction.atomic():
            # The names before, as stored: the caller's object may already hold the new ones.
            before = Participant.objects.select_for_update().filter(pk=participant.pk).values("display_name", "school")
            old = before.first()
            if old is not None:
                Participant.objects.filter(pk=participant.pk).update(
                    display_name=display_name, school=school, updated_at=timezone.now()
                )
                audit(
                    by=by,
                    action="participant_rename",
                    target=f"participant:{participant.pk}",
                    old=old,
                    new={"display_name": display_name, "school": school},
                )
    except IntegrityError as exc:  # a concurrent rename took the name first
        raise InvalidInput("This team name is taken.", errors={"display_name": ["This team name is taken."]}) from exc
    reads_changed("leaderboard")
    leaderboard_changed()
    participant.display_name, participant.school = display_name, school
    return participant


@transaction.atomic
def participant_freeze(*, participant: Participant, frozen: bool = True, by: User | None) -> Participant:
    updated = Participant.objects.filter(pk=participant.pk).exclude(is_frozen=frozen).update(is_frozen=frozen)
    if updated:
        audit(by=by, action="participant_freeze" if frozen else "participant_unfreeze", target=_team(participant))
    participant.refresh_from_db()
    return participant


@transaction.atomic
def cash_adjust(*, participant: Participant, amount: Decimal, reason: str, by: User | None) -> CashAdjustment:
    """Add (or, negative, remove) cash outside trading; logged, never below zero."""
    amount = money(amount)
    if amount == 0:
        raise InvalidInput("The amount must not be zero.", errors={"amount": ["Must not be zero."]})
    if not reason.strip():
        raise InvalidInput("Say why the cash changes.", errors={"reason": ["This field may not be blank."]})
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    new_cash = locked.cash + amount
    if new_cash < 0:
        raise InsufficientFunds(f"The team has {locked.cash} and cannot lose {-amount}.", cash=str(locked.cash))
    if new_cash > MAX_CASH:
        raise InvalidInput("The resulting cash is out of range.", errors={"amount": ["Too large."]})
    adjustment = CashAdjustment.objects.create(participant=locked, amount=amount, reason=reason.strip(), by=by)
    Participant.objects.filter(pk=locked.pk).update(cash=new_cash, updated_at=timezone.now())
    revalue(Participant.objects.filter(pk=locked.pk))
    audit(
        by=by,
        action="cash_adjust",
        target=_team(locked),
        amount=str(amount),
        reason=reason.strip(),
        old={"cash": locked.cash},
        new={"cash": new_cash},
    )
    reads_changed("leaderboard")
    broadcast("portfolio", events.portfolio(locked), to=locked.user_id)
    leaderboard_changed()
    return adjustment


def _team(participant: Participant) -> str:
    return f"participant:{participant.pk}"


# The overlay


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


# Bells


def open_day() -> TradingDay | None:
    return TradingDay.objects.filter(opened_at__isnull=False, closed_at__isnull=True).first()


BELL_LOCK = 1  # advisory lock keys: (BELL_LOCK, 0) the bell; (COMPANY_LOCK, hash of id) a company
COMPANY_LOCK = 2


def _advisory(sql: str, *params) -> None:
    if connection.vendor == "postgresql":  # SQLite: IMMEDIATE transactions serialise every writer
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def _lock_for_trade(company_pk) -> None:
    """Until this transaction ends: no closing bell, no price change of this company."""
    _advisory(
        "SELECT pg_advisory_xact_lock_shared(%s, 0), pg_advisory_xact_lock_shared(%s, hashtext(%s::text))",
        BELL_LOCK,
        COMPANY_LOCK,
        str(company_pk),
    )


def _lock_company_price(company_pk) -> None:
    """Wait for trades under way on this company; later ones wait for this transaction."""
    _advisory("SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))", COMPANY_LOCK, str(company_pk))


def company_prices_lock() -> None:
    """Every company's price lock, in one order: for one transaction that changes several prices
    (an import). Taken before any team row, as a single price change takes its one company's."""
    for pk in Company.objects.order_by("pk").values_list("pk", flat=True):
        _lock_company_price(pk)


def current_day_number() -> int | None:
    """The open day, else the last day that opened: the day a price change belongs to."""
    day = TradingDay.objects.filter(opened_at__isnull=False).order_by("-number").first()
    return day.number if day else None


def _lock_bell() -> None:
    """The bell is rung by one at a time (the event settings row is its lock)."""
    EventSettings.load()
    EventSettings.objects.select_for_update().get(pk=1)


def market_open(*, by: User | None, day_number: int | None = None, now: datetime | None = None) -> TradingDay:
    """Ring the start bell: the next trading day (or day `day_number`, if still unopened) opens."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            _lock_bell()
            if open_day() is not None:
                raise MarketAlreadyOpen("Day is already open.")
            # Days open in order: a prepared day numbered below one that already opened was
            # skipped (its whole session passed) and is never opened late.
            last_opened = current_day_number() or 0
            unopened = TradingDay.objects.filter(opened_at__isnull=True, number__gt=last_opened).order_by("number")
            if day_number is not None:
                unopened = unopened.filter(number=day_number)
            day = unopened.first()
            if day is None:
                if day_number is not None:
                    raise MarketAlreadyOpen(f"Day {day_number} can no longer open.")
                last = TradingDay.objects.order_by("-number").values_list("number", flat=True).first() or 0
                day = TradingDay(number=last + 1)
            if day.scheduled_close_at is not None and day.scheduled_close_at <= now:
                day.scheduled_close_at = None  # a close time already past would end the day at once
            day.opened_at = now
            day.save()
            audit(by=by, action="market_open", target=f"day:{day.number}")
            reads_changed("market", "companies")  # a company's chart starts the day
            activity("bell", f"day {day.number} opened", action="start_day", day=day.number, by_user_id=by and by.pk)
            broadcast("bell", {"action": "start_day", "day": day.number, "market": events.market()})
    except IntegrityError as exc:  # a concurrent bell on a database without row locks
        raise MarketAlreadyOpen("Day is already open.") from exc
    return day


@transaction.atomic
def market_close(*, by: User | None, day_number: int | None = None, now: datetime | None = None) -> TradingDay:
    """Ring the end bell: the day closes, closes become previous prices, each team's value is kept.

    With `day_number`, only that day is closed (a scheduled close never closes a later day).
    """
    now = now or timezone.now()
    _lock_bell()
    _advisory("SELECT pg_advisory_xact_lock(%s, 0)", BELL_LOCK)  # waits for trades under way
    day = TradingDay.objects.select_for_update().filter(opened_at__isnull=False, closed_at__isnull=True).first()
    if day is None or (day_number is not None and day.number != day_number):
        raise MarketAlreadyClosed("No trading day is open." if day is None else f"Day {day_number} is not open.")
    # Trades under way held the bell shared: taking it waited for them, so the bell rings now,
    # after the last of them.
    day.closed_at = max(now, timezone.now(), day.opened_at)
    day.save(update_fields=["closed_at"])
    Company.objects.update(previous_price=F("current_price"))
    DailyValue.objects.bulk_create(
        [
            DailyValue(participant_id=pk, day=day.number, cash=cash, value=value, at=day.closed_at)
            for pk, cash, value in Participant.objects.values_list("pk", "cash", "portfolio_value")
        ],
        batch_size=1000,
    )
    audit(by=by, action="market_close", target=f"day:{day.number}")
    reads_changed("market", "companies")  # closes became previous prices
    activity("bell", f"day {day.number} closed", action="end_day", day=day.number, by_user_id=by and by.pk)
    companies = [events.company(company) for company in Company.objects.order_by("ticker")]
    broadcast("bell", {"action": "end_day", "day": day.number, "market": events.market(), "companies": companies})
    return day


# Prices


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
    _lock_company_price(company.pk)
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
    _lock_company_price(company.pk)
    locked = Company.objects.select_for_update().get(pk=company.pk)
    old = locked.current_price
    if expected_price is not None and money(expected_price) != old:
        raise PriceChanged(f"The price of {locked.ticker} is now {old}.", price=str(old))
    if price == old:
        return locked
    locked.current_price = price
    locked.save(update_fields=["current_price", "updated_at"])
    PricePoint.objects.create(company=locked, price=price, at=now, day=current_day_number())
    # Lock the holders (in id order) before revaluing, so the UPDATE's fresh snapshot sees
    # holdings changed by trades that were under way.
    holder_ids = list(
        Participant.objects.filter(holdings__company=locked, holdings__quantity__gt=0)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The holders revalued with the trade's own sum of a team's holdings, all in one pass,
            # chosen by the company rather than by a parameter per holder (300 holders: the ORM's
            # form 11 ms, a sum per holder 6, this 2.4). They are the holders just locked: trades
            # of this company wait for its price lock.
            holders = "SELECT participant_id FROM holdings WHERE company_id = %s AND quantity > 0"
            cursor.execute(
                "UPDATE participants SET portfolio_value = cash + held.value"
                f" FROM ({sql.holdings_values(holders)}) held WHERE held.participant_id = participants.id",
                [sql.db_id(Company, locked.pk)],
            )
    except DataError as exc:
        raise InvalidInput(
            "At this price a team's value would be too large to record.", errors={"current_price": ["Too large."]}
        ) from exc
    audit(by=by, action="price_set", target=f"company:{locked.ticker}", old=str(old), new=str(price))
    # A stock nobody holds moves no team's value: the leaderboard stays as it was, and so do the
    # screens showing it (no leaderboard event to every socket for nothing).
    reads_changed(*(("companies", "leaderboard") if holder_ids else ("companies",)))
    activity(
        "price",
        f"{locked.ticker} {old} -> {price}",
        ticker=locked.ticker,
        old_price=old,
        price=price,
        holders=len(holder_ids),
        by_user_id=by and by.pk,
    )
    broadcast("price", events.price(locked))
    if holder_ids:
        leaderboard_changed()
    return locked


# Trades


_TEAM_FOR_TRADE = """
    SELECT p.cash, p.is_frozen, p.display_name, p.starting_cash, p.trade_count,
           c.ticker, c.name, c.current_price, c.is_active,
           s.lot_size, s.buy_fee_rate, s.sell_fee_rate,
           (SELECT d.number FROM trading_days d
             WHERE d.opened_at IS NOT NULL AND d.closed_at IS NULL ORDER BY d.number LIMIT 1)
      FROM participants p, companies c, event_settings s
     WHERE p.id = %s AND c.id = %s AND s.id = 1
"""
_TEAM_HOLDINGS = """
    SELECT h.id, h.company_id, h.quantity, h.average_cost, c.ticker, c.name, c.current_price
      FROM holdings h JOIN companies c ON c.id = h.company_id
     WHERE h.participant_id = %s
     ORDER BY c.ticker
"""


def trade_execute(
    *,
    participant: Participant,
    company: Company,
    side: str,
    quantity: int,
    expected_price: Decimal | None = None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Buy or sell at the company's current price, atomically and serialised per team. The
    returned trade carries `portfolio`, the team's portfolio just after it (selectors.portfolio),
    and `portfolio_data`, the same as the API shows it (PortfolioSerializer).

    The busiest path of the product (every team trades in the seconds after the bell), so it
    speaks SQL itself: seven statements, where the ORM took fourteen and most of the time
    (docs/performance.md). Money is computed here in Python, as everywhere else.
    """
    if side not in TradeType.values:
        raise InvalidInput("Type must be buy or sell.", errors={"type": ["Must be buy or sell."]})
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("Quantity is out of range.", errors={"quantity": ["Must be a whole number from 1."]})
    now = timezone.now()
    team_id, stock_id = sql.db_id(Participant, participant.pk), sql.db_id(Company, company.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_for_trade(company.pk)
        # The team's row locked (every change to its cash or holdings takes this lock first, so
        # its holdings need no lock of their own), read with the company and the rules.
        cursor.execute(_TEAM_FOR_TRADE + sql.for_update("p"), [team_id, stock_id])
        row = cursor.fetchone()
        if row is None:
            EventSettings.load()  # a new event has no settings row yet
            cursor.execute(_TEAM_FOR_TRADE + sql.for_update("p"), [team_id, stock_id])
            row = cursor.fetchone()
            if row is None:
                raise Participant.DoesNotExist("No such team or company.")
        (cash, frozen, team_name, starting_cash, trade_count, ticker, name, price, active, lot_size, buy_fee_rate,
         sell_fee_rate, day) = row  # fmt: skip
        cash, price, starting_cash = sql.money_of(cash), sql.money_of(price), sql.money_of(starting_cash)
        if day is None:
            raise MarketClosed("Market is closed.")
        if frozen:
            raise ParticipantFrozen("Your team is frozen; ask the organisers.")
        if not active:
            raise CompanyInactive(f"{ticker} cannot be traded now.")
        if quantity % lot_size:
            raise InvalidInput(
                f"Quantity must be a multiple of {lot_size}.",
                errors={"quantity": [f"Must be a multiple of the lot size ({lot_size})."]},
            )
        if expected_price is not None and money(expected_price) != price:
            raise PriceChanged(f"The price of {ticker} is now {price}.", price=str(price))

        cursor.execute(_TEAM_HOLDINGS, [team_id])
        holdings = [
            {
                "id": holding_id,
                "company_id": sql.as_uuid(company_id),
                "quantity": held,
                "average_cost": sql.decimal_of(cost, AVERAGE_PLACES),
                "ticker": held_ticker,
                "name": held_name,
                "price": sql.money_of(held_price),
            }
            for holding_id, company_id, held, cost, held_ticker, held_name, held_price in cursor.fetchall()
        ]
        holding = next((h for h in holdings if h["company_id"] == company.pk), None)
        total = price * quantity
        if side == TradeType.BUY:
            fee = money(total * sql.decimal_of(buy_fee_rate))
            cost = total + fee
            if cost > cash:
                raise InsufficientFunds(
                    f"Not enough cash: you have {cash} and need {cost}.", cash=str(cash), needed=str(cost)
                )
            cash -= cost
            if holding is None:
                holding = {"id": None, "company_id": company.pk, "quantity": 0, "average_cost": ZERO}
                holding.update(ticker=ticker, name=name, price=price)
                holdings.append(holding)
            bought_before = holding["average_cost"] * holding["quantity"]
            holding["quantity"] += quantity
            holding["average_cost"] = average_cost(bought_before + total, holding["quantity"])
        else:
            fee = money(total * sql.decimal_of(sell_fee_rate))
            held = holding["quantity"] if holding else 0
            if quantity > held:
                raise InsufficientShares(
                    f"Not enough shares: you have {held} {ticker} and tried to sell {quantity}.", held=held
                )
            cash += total - fee
            holding["quantity"] -= quantity
            if holding["quantity"] == 0:
                holding["average_cost"] = ZERO
        holding["price"] = price  # as read under the company's lock

        if holding["id"] is None:
            cursor.execute(
                "INSERT INTO holdings (participant_id, company_id, quantity, average_cost) VALUES (%s, %s, %s, %s)",
                [team_id, stock_id, holding["quantity"], holding["average_cost"]],
            )
        else:
            cursor.execute(
                "UPDATE holdings SET quantity = %s, average_cost = %s WHERE id = %s",
                [holding["quantity"], holding["average_cost"], holding["id"]],
            )
        trade_id = uuid.uuid4()
        cursor.execute(
            "INSERT INTO transactions (id, participant_id, company_id, type, quantity, price, fee, day,"
            " idempotency_key, created_at, reversal_reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')",
            [sql.db_id(Transaction, trade_id), team_id, stock_id, side, quantity, price, fee, day, idempotency_key,
             sql.db_time(now)],
        )  # fmt: skip
        # The new cash, the count, and the value at current prices (SQL sums the holdings, so the
        # stored value is the one every other revaluation computes).
        cursor.execute(
            "UPDATE participants SET cash = %s, trade_count = trade_count + 1, last_trade_at = %s, updated_at = %s,"
            f" portfolio_value = %s + {sql.HOLDINGS_VALUE} WHERE id = %s RETURNING portfolio_value",
            [cash, sql.db_time(now), sql.db_time(now), cash, team_id],
        )
        value = sql.money_of(cursor.fetchone()[0])

        team = Participant(
            pk=participant.pk,
            user_id=participant.user_id,
            display_name=team_name,
            cash=cash,
            starting_cash=starting_cash,
            portfolio_value=value,
            trade_count=trade_count + 1,
            last_trade_at=now,
            updated_at=now,
        )
        company.current_price = price
        trade = Transaction(
            id=trade_id,
            participant=team,
            company=company,
            type=side,
            quantity=quantity,
            price=price,
            fee=fee,
            day=day,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        trade.total = total
        # The answer to the team and its `portfolio` event: one read, in this transaction.
        trade.portfolio = selectors.portfolio_of(team, holdings)
        trade.portfolio_data = events.portfolio_data(trade.portfolio)  # as the API and the event show it
        trade.transaction_data = events.own_trade(trade)
        reads_changed("leaderboard")
        _trade_done(trade, team)
        broadcast("trade", events.trade(trade, team))
        # The trade comes with the team's portfolio: its history page shows it without asking.
        broadcast("portfolio", {**trade.portfolio_data, "transaction": trade.transaction_data}, to=team.user_id)
        leaderboard_changed()
    return trade


def _trade_done(trade: Transaction, team: Participant) -> None:
    """Once the trade commits: its log line and its count."""
    activity(
        "trade",
        f"{trade.type} {trade.quantity} {trade.company.ticker} at {trade.price}",
        trade_id=trade.pk,
        participant_id=team.pk,
        user_id=team.user_id,
        ticker=trade.company.ticker,
        side=trade.type,
        quantity=trade.quantity,
        price=trade.price,
        fee=trade.fee,
        day=trade.day,
        cash_after=team.cash,
    )
    side = str(trade.type)
    transaction.on_commit(lambda: metrics.TRADES_EXECUTED.labels(side).inc(), robust=True)


def _replayed_average_cost(*, participant_id, company_id) -> Decimal:
    """A holding's average cost from the trades that stand (not reversed), in the order they ran,
    kept the way `trade_execute` keeps it: a buy averages its price in, a sale leaves the average,
    and a holding that empties starts over. Shares sold out of a buy that was later reversed
    leave the holding short for a while; the shares bought after that cost what they cost."""
    held, cost = 0, ZERO
    trades = (
        Transaction.objects.filter(participant_id=participant_id, company_id=company_id, reversed_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("type", "quantity", "price")
    )
    for side, quantity, price in trades:
        if side == TradeType.BUY:
            kept = max(held, 0)
            held += quantity
            cost = average_cost(cost * kept + price * quantity, kept + quantity) if held > 0 else ZERO
        else:
            held -= quantity
            if held <= 0:
                cost = ZERO
    return cost


def trade_reverse(*, trade: Transaction, by: User | None, reason: str) -> Transaction:
    """Undo one trade exactly: a buy gives back its total + fee and takes its shares away; a sale
    takes back its total − fee and returns its shares. The trade stays, marked reversed, and
    counts nowhere after (cash, holdings, trade count, leaderboard). Refused when the team no
    longer has the shares or the cash to give back, or when the trade is already reversed.

    Locked like a trade (bell and company shared, then the team, then the holding), at any
    time: corrections are also made while the market is closed, and for frozen teams.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the trade is reversed.", errors={"reason": ["This field may not be blank."]})
    now = timezone.now()
    with transaction.atomic():
        _lock_for_trade(trade.company_id)
        team = Participant.objects.select_for_update().get(pk=trade.participant_id)
        # Read afresh under the team's lock: a reversal of the same trade waits for this one.
        trade = Transaction.objects.select_related("company").get(pk=trade.pk)
        stock = trade.company
        if trade.reversed_at is not None:
            raise ReversalRefused("This trade has already been reversed.")
        holding = (
            Holding.objects.select_for_update(of=("self",))
            .filter(participant=team, company=stock)
            .order_by()  # no join for the default ordering: lock the holding row only
            .first()
        )
        held = holding.quantity if holding else 0
        if trade.type == TradeType.BUY:
            cash_after = team.cash + trade.total + trade.fee
            held_after = held - trade.quantity
            if held_after < 0:
                raise ReversalRefused(
                    f"{team.display_name} holds {held} {stock.ticker} now; reversing this buy would take "
                    f"away {trade.quantity}.",
                    held=held,
                )
        else:
            cash_after = team.cash - (trade.total - trade.fee)
            held_after = held + trade.quantity
            if cash_after < 0:
                raise ReversalRefused(
                    f"{team.display_name} has {team.cash} in cash now; reversing this sale would take back "
                    f"{trade.total - trade.fee}.",
                    cash=str(team.cash),
                )
        if cash_after > MAX_CASH:
            raise ReversalRefused("The team's cash would be too large to record.")

        Transaction.objects.filter(pk=trade.pk, reversed_at__isnull=True).update(
            reversed_at=now, reversed_by=by, reversal_reason=reason
        )
        if holding is None:
            holding = Holding(participant=team, company=stock)
        holding.quantity = held_after
        holding.average_cost = (
            _replayed_average_cost(participant_id=team.pk, company_id=stock.pk) if held_after else ZERO
        )
        holding.save()

        standing = Transaction.objects.filter(participant=team, reversed_at__isnull=True).aggregate(
            count=Count("pk"), last=Max("created_at")
        )
        last_trade_at = team.last_trade_at
        if standing["last"] is None or standing["last"] < trade.created_at:
            last_trade_at = standing["last"]  # it was the team's latest trade: the one before counts now
        Participant.objects.filter(pk=team.pk).update(
            cash=cash_after, trade_count=standing["count"], last_trade_at=last_trade_at, updated_at=now
        )
        revalue(Participant.objects.filter(pk=team.pk))
        audit(
            by=by,
            action="trade_reverse",
            target=f"transaction:{trade.pk}",
            participant=str(team.pk),
            team=team.display_name,
            ticker=stock.ticker,
            type=trade.type,
            quantity=trade.quantity,
            price=str(trade.price),
            total=str(trade.total),
            fee=str(trade.fee),
            day=trade.day,
            reason=reason,
            cash_before=str(team.cash),
            cash_after=str(cash_after),
            holding_before=held,
            holding_after=held_after,
        )
        reads_changed("leaderboard")
        trade.reversed_at, trade.reversed_by, trade.reversal_reason = now, by, reason
        # The reversed trade with it: the team's history page marks it without asking.
        portfolio = {**events.portfolio(team), "transaction": events.own_trade(trade)}
        broadcast("portfolio", portfolio, to=team.user_id)
        leaderboard_changed()
    return Transaction.objects.select_related("company", "participant", "reversed_by").get(pk=trade.pk)
