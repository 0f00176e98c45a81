"""Orders that wait, filled (SPEC §4b): every open order whose condition holds at the current
price, oldest first, each in a transaction of its own through the trade's own steps
(market/services/trading.py), its reservation handed back first.

A price change, the start bell, a team unfrozen or a company tradable again ask for a pass once
they commit (`fills_after_commit`), on the process's order desk (market/services/desk.py), so
their answers never wait for the fills; the scheduler makes a pass every second too, which
catches what a stopped process left. However many passes run at once, an order fills once: its
fill locks the team's row, then the order's, and finds it still open, as a cancel does.
"""

from dataclasses import replace

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from common import sql as db
from common.problems import DomainError, InvalidInput
from market import events, selectors
from market.errors import InsufficientFunds, InsufficientShares
from market.models import Company, Order, OrderKind, OrderStatus, Participant, TradeType
from market.services import locks, trading
from market.services.book import close, condition_holds, release
from market.services.desk import desk
from overlay.events import broadcast


def _due() -> Q:
    """Open orders whose condition holds at their company's current price."""
    price = F("company__current_price")
    limit_buy = Q(kind=OrderKind.LIMIT, type=TradeType.BUY, company__current_price__lte=F("price"))
    limit_sell = Q(kind=OrderKind.LIMIT, type=TradeType.SELL, company__current_price__gte=F("price"))
    stop_buy = Q(kind=OrderKind.STOP, type=TradeType.BUY, price__lte=price)
    stop_sell = Q(kind=OrderKind.STOP, type=TradeType.SELL, price__gte=price)
    return limit_buy | limit_sell | stop_buy | stop_sell


def book_fill_due() -> int:
    """Fill every open order whose condition now holds, in the order placed, each in its own
    transaction; how many filled. Orders of frozen teams and inactive companies wait, and
    nothing fills while the market is closed."""
    if selectors.market_state()["status"] != "open":
        return 0
    due = (
        Order.objects.filter(_due(), status=OrderStatus.OPEN, participant__is_frozen=False, company__is_active=True)
        .order_by("created_at", "id")
        .values_list("pk", "participant_id", "participant__user_id", "company_id")
    )
    filled = 0
    for pk, team_id, user_id, company_id in list(due):
        filled += _fill(pk, team_id, user_id, company_id)
    return filled


def _fill(pk, team_pk, user_id, company_pk) -> int:
    """One order, if still open and due: 1 if it filled (0: it had ended, or waits, or was rejected)."""
    team_id, stock_id = db.db_id(Participant, team_pk), db.db_id(Company, company_pk)
    with transaction.atomic(), connection.cursor() as cursor:
        locks.for_trade(company_pk)
        terms = trading.read_terms(cursor, team_id, stock_id)
        order = Order.objects.select_for_update().filter(pk=pk, status=OrderStatus.OPEN).first()
        if order is None or terms.day is None or terms.frozen or not terms.active:
            return 0
        if not condition_holds(side=order.type, kind=order.kind, limit=order.price, price=terms.price):
            return 0
        holdings = trading.read_holdings(cursor, team_id)
        terms, holdings = _handed_back(order, terms, holdings)
        team = Participant(pk=team_pk, user_id=user_id)
        company = Company(pk=company_pk, ticker=terms.ticker, name=terms.name)
        order.company = company
        ask = trading.Ask(company_pk, order.type, order.quantity)
        try:
            trading.trade_allowed(terms, ask)
            result = trading.trade_write(cursor, team, company, ask, terms, holdings, order_id=order.pk)
        except (InsufficientFunds, InsufficientShares, InvalidInput) as refusal:
            _reject(order, refusal)
            return 0
        close(order, OrderStatus.FILLED, at=result.transaction.created_at, trade=result.transaction)
        order.save(update_fields=["status", "closed_at", "reserved", "reason", "transaction", "filled_at"])
        trading.announce(result)
        broadcast("order", events.order(order), to=user_id)
    return 1


def _handed_back(order: Order, terms: trading.Terms, holdings: list[dict]):
    """The team as the fill sees it: what the order held is free again for its own trade."""
    if order.type == TradeType.BUY:
        return replace(terms, reserved_cash=terms.reserved_cash - order.reserved), holdings
    back = [
        {**h, "reserved_quantity": h["reserved_quantity"] - order.quantity}
        if h["company_id"] == order.company_id
        else h
        for h in holdings
    ]
    return terms, back


def _reject(order: Order, refusal: DomainError) -> None:
    """A stop buy the team can no longer afford (or an order the rules now refuse): it ends
    `rejected` with the refusal's code, and what it held is handed back."""
    release(order)
    close(order, OrderStatus.REJECTED, at=timezone.now(), reason=refusal.code)
    order.save(update_fields=["status", "closed_at", "reserved", "reason"])
    team = Participant.objects.get(pk=order.participant_id)
    broadcast("order", events.order(order), to=team.user_id)
    broadcast("portfolio", events.portfolio(team), to=team.user_id)


def fills_after_commit() -> None:
    """Ask the desk for a fill pass once the current transaction commits."""
    transaction.on_commit(lambda: desk.once(book_fill_due), robust=True)
