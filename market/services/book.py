"""Orders that wait (SPEC §4b): each team's book of limit and stop orders.

- **Place** (`book_place`): checked like a trade; one whose condition already holds while the
  market is open fills at once, like a market order; any other rests, holding what it may need
  (a buy its cash at its price with the fee, a sell its shares) so that nothing else spends it.
- **Fill**: market/services/fills.py.
- **Cancel** (`book_cancel`), by the team or an organiser (with a reason, audited), and **expire**
  (`book_expire_day`) at the end bell: the order ends and hands back what it held.

The locks, in the order of market/services/locks.py: the company (shared) → the team's row → the
order's row → holdings. Every reservation changes under the team's row lock.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from common import sql as db
from common.logs import activity
from common.problems import InvalidInput
from market import events
from market.errors import (
    CompanyInactive,
    InsufficientFunds,
    InsufficientShares,
    OrderNotOpen,
    ParticipantFrozen,
    TooManyOrders,
)
from market.models import (
    Company,
    EventSettings,
    Holding,
    Order,
    OrderExpiry,
    OrderKind,
    OrderStatus,
    Participant,
    TradeType,
)
from market.money import ZERO, money
from market.serializers import OrderRequestSerializer
from market.services import locks, trading
from market.services.audit import audit
from market.services.desk import desk
from overlay.events import broadcast

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookResult:
    """An order as it now is, and the team's portfolio after it (both as the API shows them)."""

    order: Order
    order_data: dict
    portfolio_data: dict


# The rules: no database


def condition_holds(*, side: str, kind: str, limit: Decimal, price: Decimal) -> bool:
    """Whether an order fills at `price`: a limit buy at or below its price, a limit sell at or
    above; a stop buy at or above, a stop sell (stop-loss) at or below."""
    rises = (kind == OrderKind.LIMIT) == (side == TradeType.SELL)
    return price >= limit if rises else price <= limit


def reservation(*, side: str, quantity: int, price: Decimal, buy_fee_rate: Decimal) -> Decimal:
    """The cash an open order holds: a buy's cost at its own price, fee included (what a limit
    buy can cost at most); a sell holds shares, not cash."""
    if side != TradeType.BUY:
        return ZERO
    total = price * quantity
    return total + money(total * buy_fee_rate)


# Placing


def book_place(*, participant: Participant, data, key: str | None = None) -> BookResult:
    """Validate `data` (`{ticker, type, quantity, kind, price, expires?}`) and place the order:
    filled at once when its condition holds and the market is open, else resting. Refusals raise."""
    request = OrderRequestSerializer(data=data)
    request.is_valid(raise_exception=True)
    wanted = request.validated_data
    company = wanted["ticker"]
    ask = trading.Ask(company.pk, wanted["type"], wanted["quantity"])
    team_id, stock_id = db.db_id(Participant, participant.pk), db.db_id(Company, company.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        locks.for_trade(company.pk)
        terms = trading.read_terms(cursor, team_id, stock_id)
        _may_place(terms, ask)
        holdings = trading.read_holdings(cursor, team_id)
        order = Order(
            participant_id=participant.pk,
            company=company,
            type=wanted["type"],
            kind=wanted["kind"],
            quantity=wanted["quantity"],
            price=wanted["price"],
            expires=wanted["expires"],
            idempotency_key=key,
            created_at=timezone.now(),
        )
        if terms.day is not None and condition_holds(
            side=order.type, kind=order.kind, limit=order.price, price=terms.price
        ):
            result = trading.trade_write(cursor, participant, company, ask, terms, holdings, order_id=order.pk)
            close(order, OrderStatus.FILLED, at=result.transaction.created_at, trade=result.transaction)
            order.save(force_insert=True)
            trading.announce(result)
            portfolio = result.portfolio_data
        else:
            _rest(order, terms, holdings)
            portfolio = events.portfolio(participant)
        order_data = events.order(order)
        broadcast("order", order_data, to=participant.user_id)
        if order.status == OrderStatus.OPEN:
            broadcast("portfolio", portfolio, to=participant.user_id)
    activity(
        "order",
        f"{order.kind} {order.type} {order.quantity} {company.ticker} at {order.price}: {order.status}",
        order_id=order.pk,
        participant_id=participant.pk,
        ticker=company.ticker,
        status=order.status,
    )
    return BookResult(order, order_data, portfolio)


def _may_place(terms: trading.Terms, ask: trading.Ask) -> None:
    """A trade's rules but the open market: an order may wait for the bell."""
    if terms.frozen:
        raise ParticipantFrozen("Your team is frozen; ask the organisers.")
    if not terms.active:
        raise CompanyInactive(f"{terms.ticker} cannot be traded now.")
    if ask.quantity % terms.lot_size:
        raise InvalidInput(
            f"Quantity must be a multiple of {terms.lot_size}.",
            errors={"quantity": [f"Must be a multiple of the lot size ({terms.lot_size})."]},
        )


def _rest(order: Order, terms: trading.Terms, holdings: list[dict]) -> None:
    """Hold what the order may need, under the team's row lock, and save it open."""
    limit = EventSettings.objects.values_list("max_open_orders", flat=True).get(pk=1)
    if Order.objects.filter(participant_id=order.participant_id, status=OrderStatus.OPEN).count() >= limit:
        raise TooManyOrders(f"Your team already has {limit} open orders, the most allowed; cancel one first.")
    if order.type == TradeType.BUY:
        order.reserved = reservation(
            side=order.type, quantity=order.quantity, price=order.price, buy_fee_rate=terms.buy_fee_rate
        )
        if order.reserved > terms.available_cash:
            raise InsufficientFunds(
                f"Not enough cash: the order holds {order.reserved} and you have {terms.available_cash} free.",
                cash=str(terms.available_cash),
                needed=str(order.reserved),
            )
        Participant.objects.filter(pk=order.participant_id).update(reserved_cash=F("reserved_cash") + order.reserved)
    else:
        held = next((h for h in holdings if h["company_id"] == order.company_id), None)
        free = held["quantity"] - held["reserved_quantity"] if held else 0
        if order.quantity > free:
            raise InsufficientShares(
                f"Not enough shares: you have {free} {terms.ticker} free to sell and the order needs {order.quantity}.",
                held=free,
            )
        Holding.objects.filter(pk=held["id"]).update(reserved_quantity=F("reserved_quantity") + order.quantity)
    order.save(force_insert=True)


def close(order: Order, status: str, *, at, trade=None, reason: str = "", by: User | None = None) -> None:
    order.status, order.closed_at, order.reserved, order.reason = status, at, ZERO, reason
    if trade is not None:
        order.transaction, order.filled_at = trade, at
    if by is not None:
        order.cancelled_by = by


def release(order: Order) -> None:
    """Hand back what an open order holds (under its team's row lock)."""
    if order.type == TradeType.BUY:
        Participant.objects.filter(pk=order.participant_id).update(reserved_cash=F("reserved_cash") - order.reserved)
    else:
        Holding.objects.filter(participant_id=order.participant_id, company_id=order.company_id).update(
            reserved_quantity=F("reserved_quantity") - order.quantity
        )


# Cancelling and expiring


def book_cancel(
    *, order: Order, participant: Participant | None = None, by: User | None = None, reason: str = ""
) -> BookResult:
    """End an open order and hand back what it holds: by its team (`participant`, whose order it
    must be) or by an organiser (`by`, with a reason, audited). Else `order_not_open`."""
    if by is not None and not reason.strip():
        raise InvalidInput("Say why the order is cancelled.", errors={"reason": ["This field may not be blank."]})
    with transaction.atomic():
        team = Participant.objects.select_for_update().get(pk=order.participant_id)
        if participant is not None and team.pk != participant.pk:
            raise Order.DoesNotExist("Not this team's order.")
        locked = Order.objects.select_for_update().select_related("company").get(pk=order.pk)
        if locked.status != OrderStatus.OPEN:
            raise OrderNotOpen(f"This order is {locked.status}, not open.", order_status=locked.status)
        release(locked)
        close(locked, OrderStatus.CANCELLED, at=timezone.now(), reason=reason.strip(), by=by)
        locked.save(update_fields=["status", "closed_at", "reserved", "reason", "cancelled_by"])
        if by is not None:
            audit(
                by=by, action="order_cancel", target=f"order:{locked.pk}", team=team.display_name, reason=reason.strip()
            )
        return _announce_closed(locked, team)


def book_cancel_team(*, participant: Participant, by: User, reason: str) -> int:
    """An organiser cancels every open order of one team; how many."""
    if not reason.strip():
        raise InvalidInput("Say why the orders are cancelled.", errors={"reason": ["This field may not be blank."]})
    cancelled = 0
    for order in Order.objects.filter(participant=participant, status=OrderStatus.OPEN).order_by("created_at"):
        try:
            book_cancel(order=order, by=by, reason=reason)
            cancelled += 1
        except OrderNotOpen:
            continue  # filled meanwhile
    return cancelled


def book_expire_day(*, now) -> int:
    """At the end bell (inside its transaction, after the trades under way): every order that
    lasts the day expires and hands back what it held; how many. The teams' reservations are
    counted again from the orders still open."""
    ending = Order.objects.filter(status=OrderStatus.OPEN, expires=OrderExpiry.DAY)
    teams = sorted(set(ending.values_list("participant_id", flat=True)))
    if not teams:
        return 0
    list(Participant.objects.select_for_update().filter(pk__in=teams).order_by("pk").values_list("pk", flat=True))
    expired = list(ending.values_list("pk", flat=True))
    Order.objects.filter(pk__in=expired).update(status=OrderStatus.EXPIRED, reserved=ZERO, closed_at=now)
    reservations_recount(teams)
    transaction.on_commit(lambda: desk.call(_announce_expired, expired), robust=True)
    return len(expired)


def reservations_recount(teams) -> None:
    """Each team's reserved cash and shares, from its open orders."""
    open_orders = Order.objects.filter(status=OrderStatus.OPEN)
    cash = (
        open_orders.filter(participant=OuterRef("pk"))
        .values("participant")
        .annotate(held=Sum("reserved"))
        .values("held")
    )
    Participant.objects.filter(pk__in=teams).update(reserved_cash=Coalesce(Subquery(cash), Value(ZERO)))
    shares = (
        open_orders.filter(type=TradeType.SELL, participant=OuterRef("participant"), company=OuterRef("company"))
        .values("participant")
        .annotate(held=Sum("quantity"))
        .values("held")
    )
    Holding.objects.filter(participant__in=teams).update(reserved_quantity=Coalesce(Subquery(shares), Value(0)))


def _announce_closed(order: Order, team: Participant) -> BookResult:
    order_data = events.order(order)
    portfolio = events.portfolio(team)
    broadcast("order", order_data, to=team.user_id)
    broadcast("portfolio", portfolio, to=team.user_id)
    activity(
        "order",
        f"{order.kind} {order.type} {order.quantity} {order.company.ticker}: {order.status}",
        order_id=order.pk,
        participant_id=team.pk,
        status=order.status,
        reason=order.reason,
    )
    return BookResult(order, order_data, portfolio)


def _announce_expired(expired: list) -> None:
    """After the end bell: each expired order's team hears it, and its portfolio once."""
    orders = Order.objects.filter(pk__in=expired).select_related("company", "participant").order_by("created_at")
    teams = {}
    for order in orders:
        broadcast("order", events.order(order), to=order.participant.user_id)
        teams[order.participant_id] = order.participant
    for team in teams.values():
        broadcast("portfolio", events.portfolio(team), to=team.user_id)
