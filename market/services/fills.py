"""Orders that wait, filled (SPEC §4b): every open order whose condition holds at the current
price, oldest first, through the trade's own steps (market/services/trading.py), its reservation
handed back first. A batch of orders (of as many teams) fills in one transaction: its companies'
trade locks and its teams' rows taken once, what it reads read once, one commit
(docs/performance.md: per order, a transaction of its own spent most of its time committing and
locking).

A price change, the start bell, a team unfrozen or a company tradable again ask for a pass once
they commit (`fills_after_commit`), on the process's order desk (market/services/desk.py), so
their answers never wait for the fills; the scheduler makes a pass every second too, which
catches what a stopped process left. However many passes run at once, an order fills once: its
batch locks the team's row, then the order's, and finds it still open, as a cancel does.
"""

from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from common import sql as db
from common.problems import DomainError, InvalidInput
from common.read_cache import reads_changed
from market import events, selectors, sql
from market.errors import InsufficientFunds, InsufficientShares
from market.events import leaderboard_changed
from market.models import Company, Order, OrderKind, OrderStatus, Participant, TradeType, Transaction
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


BATCH = 25  # orders filled in one transaction, of as many teams, whose rows it holds meanwhile


@dataclass(frozen=True)
class Due:
    pk: object
    team: object
    user_id: object
    company: object


def book_fill_due() -> int:
    """Fill every open order whose condition now holds, oldest first, a batch of them in each
    transaction; how many filled. A team's orders fill in the order it placed them (a batch
    takes at most one of each team's). Orders of frozen teams and inactive companies wait, and
    nothing fills while the market is closed."""
    if selectors.market_state()["status"] != "open":
        return 0
    due = (
        Order.objects.filter(_due(), status=OrderStatus.OPEN, participant__is_frozen=False, company__is_active=True)
        .order_by("created_at", "id")
        .values_list("pk", "participant_id", "participant__user_id", "company_id")
    )
    filled = 0
    for batch in batches([Due(*row) for row in due], BATCH):
        filled += _fill_batch(batch)
    return filled


def batches(due: list[Due], size: int):
    """The due orders in groups of at most `size`, oldest first, each with at most one order of
    a team: a team's later order waits for a later group, never fills before its earlier one."""
    waiting = due
    while waiting:
        batch, teams, rest = [], set(), []
        for order in waiting:
            if len(batch) < size and order.team not in teams:
                batch.append(order)
                teams.add(order.team)
            else:
                rest.append(order)
        yield batch
        waiting = rest


def _fill_batch(batch: list[Due]) -> int:
    """One transaction: the companies' trade locks, the teams' rows (in id order), the orders'
    rows; then each order still open and due fills as a trade, or is rejected."""
    filled = []
    with transaction.atomic(), connection.cursor() as cursor:
        for company in sorted({order.company for order in batch}, key=str):
            locks.for_trade(company)
        read = _Batch(cursor, batch)
        orders = Order.objects.select_for_update().filter(pk__in=[o.pk for o in batch], status=OrderStatus.OPEN)
        orders = {order.pk: order for order in orders}
        for due in batch:
            order = orders.get(due.pk)
            result = _fill(cursor, read, due, order) if order is not None else None
            if result is not None:
                filled.append((order, result))
        cursor.executemany(
            sql.ORDER_FILLED,
            [
                [
                    db.db_time(o.filled_at),
                    db.db_time(o.closed_at),
                    db.db_id(Transaction, o.transaction_id),
                    db.db_id(Order, o.pk),
                ]
                for o, _ in filled
            ],
        )
        ranks = selectors.ranks_of([result.transaction.participant.pk for _, result in filled])
        for order, result in filled:
            result.portfolio["rank"] = result.portfolio_data["rank"] = ranks[result.transaction.participant.pk]
            trading.announce(result, standings=False)
            broadcast("order", events.order(order), to=result.transaction.participant.user_id)
        if filled:
            reads_changed("leaderboard")
            leaderboard_changed()
    return len(filled)


class _Batch:
    """What a batch reads once, under its locks: its teams, companies, holdings and the rules."""

    def __init__(self, cursor, batch: list[Due]) -> None:
        teams = sorted({db.db_id(Participant, order.team) for order in batch}, key=str)
        companies = list({db.db_id(Company, order.company) for order in batch})
        cursor.execute(sql.teams_for_fills(len(teams)) + db.for_update("p"), teams)
        self.teams = {db.as_uuid(row[0]): row[1:] for row in cursor.fetchall()}
        cursor.execute(sql.companies_for_fills(len(companies)), companies)
        self.companies = {db.as_uuid(row[0]): row[1:] for row in cursor.fetchall()}
        cursor.execute(sql.RULES_FOR_FILLS)
        self.rules = cursor.fetchone()
        cursor.execute(sql.holdings_for_fills(len(teams)), teams)
        self.holdings: dict = {}
        for team, *holding in cursor.fetchall():
            self.holdings.setdefault(db.as_uuid(team), []).append(trading.holding_of(holding))

    def terms(self, due: Due) -> trading.Terms | None:
        team, company = self.teams.get(db.as_uuid(due.team)), self.companies.get(db.as_uuid(due.company))
        if team is None or company is None or self.rules is None:
            return None
        cash, reserved_cash, frozen, team_name, starting_cash, trade_count = team
        ticker, name, price, active = company
        lot_size, buy_fee_rate, sell_fee_rate, day = self.rules
        return trading.Terms(
            cash=db.money_of(cash),
            reserved_cash=db.money_of(reserved_cash),
            frozen=bool(frozen),
            team_name=team_name,
            starting_cash=db.money_of(starting_cash),
            trade_count=trade_count,
            ticker=ticker,
            name=name,
            price=db.money_of(price),
            active=bool(active),
            lot_size=lot_size,
            buy_fee_rate=db.decimal_of(buy_fee_rate),
            sell_fee_rate=db.decimal_of(sell_fee_rate),
            day=day,
        )


def _fill(cursor, read: _Batch, due: Due, order: Order) -> trading.TradeResult | None:
    """One order, if still due: its trade (the order closed, not yet saved), else None (it waits,
    or it was rejected)."""
    terms = read.terms(due)
    if terms is None or terms.day is None or terms.frozen or not terms.active:
        return None
    if not condition_holds(side=order.type, kind=order.kind, limit=order.price, price=terms.price):
        return None
    terms, holdings = _handed_back(order, terms, read.holdings.get(db.as_uuid(due.team), []))
    team = Participant(pk=due.team, user_id=due.user_id)
    company = Company(pk=due.company, ticker=terms.ticker, name=terms.name)
    order.company = company
    ask = trading.Ask(due.company, order.type, order.quantity)
    try:
        trading.trade_allowed(terms, ask)
        result = trading.trade_write(cursor, team, company, ask, terms, holdings, order_id=order.pk, rank=0)
    except (InsufficientFunds, InsufficientShares, InvalidInput) as refusal:
        _reject(order, refusal)
        return None
    close(order, OrderStatus.FILLED, at=result.transaction.created_at, trade=result.transaction)
    return result


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
