"""Trades at the current price: the busiest path of the product (every team trades in the seconds
after the bell), in four named steps.

1. **Read** under the locks (market/services/locks.py): the team's row locked, with the company
   and the event's rules (`read_terms`); then, if the order may go on, the team's holdings
   (`read_holdings`).
2. **Check** the order against them, with no database: `trade_allowed` (the market open, the
   team and the company able to trade, the lot size, the price the team saw) and `trade_fill`
   (what it costs or yields, the cash and the shares it needs, the holding it leaves).
3. **Write** the holding, the trade and the team's cash and value (`trade_write`): the hand-written
   statements of market/sql.py, seven in all with the reads (docs/performance.md).
4. **Announce** once the transaction commits (`announce`): the public `trade`, the team's own
   `portfolio` with the trade, the leaderboard, the log line and the count.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from common import metrics
from common import sql as db
from common.logs import activity
from common.problems import InvalidInput
from common.read_cache import reads_changed
from market import events, selectors, sql
from market.errors import (
    CompanyInactive,
    InsufficientFunds,
    InsufficientShares,
    MarketClosed,
    ParticipantFrozen,
    PriceChanged,
)
from market.events import leaderboard_changed
from market.models import MAX_QUANTITY, Company, EventSettings, Participant, TradeType, Transaction
from market.money import AVERAGE_PLACES, ZERO, average_cost, money
from market.services import locks
from overlay.events import broadcast


@dataclass(frozen=True)
class Terms:
    """What a trade reads under its locks: the team, the company and the event's rules."""

    cash: Decimal
    frozen: bool
    team_name: str
    starting_cash: Decimal
    trade_count: int
    ticker: str
    name: str
    price: Decimal
    active: bool
    lot_size: int
    buy_fee_rate: Decimal
    sell_fee_rate: Decimal
    day: int | None  # the open day's number; None: the market is closed
    reserved_cash: Decimal = ZERO  # what the team's open buy orders hold of its cash

    @property
    def available_cash(self) -> Decimal:
        return self.cash - self.reserved_cash


@dataclass(frozen=True)
class Ask:
    """What a trade asks for: a side and a quantity of one company, at the price the team saw."""

    company_id: object
    side: str
    quantity: int
    expected_price: Decimal | None = None


@dataclass(frozen=True)
class Fill:
    """What the rules let an order do: its total and fee, the team's cash after it, and the
    holding it leaves (`id` None: a new one)."""

    total: Decimal
    fee: Decimal
    cash_after: Decimal
    holding: dict


@dataclass(frozen=True)
class TradeResult:
    """A trade done: the transaction, and the team's portfolio just after it, read in the trade's
    own transaction (`portfolio`, as selectors.portfolio reads it; `portfolio_data` and
    `transaction_data`, as the API and the live events show them)."""

    transaction: Transaction
    portfolio: dict
    portfolio_data: dict
    transaction_data: dict


# The check: no database


def order_valid(side: str, quantity) -> None:
    """What any order must be before anything is read."""
    if side not in TradeType.values:
        raise InvalidInput("Type must be buy or sell.", errors={"type": ["Must be buy or sell."]})
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("Quantity is out of range.", errors={"quantity": ["Must be a whole number from 1."]})


def trade_allowed(terms: Terms, order: Ask) -> None:
    """Whether the order may trade at all now (SPEC §3), before its cost is known."""
    if terms.day is None:
        raise MarketClosed("Market is closed.")
    if terms.frozen:
        raise ParticipantFrozen("Your team is frozen; ask the organisers.")
    if not terms.active:
        raise CompanyInactive(f"{terms.ticker} cannot be traded now.")
    if order.quantity % terms.lot_size:
        raise InvalidInput(
            f"Quantity must be a multiple of {terms.lot_size}.",
            errors={"quantity": [f"Must be a multiple of the lot size ({terms.lot_size})."]},
        )
    if order.expected_price is not None and money(order.expected_price) != terms.price:
        raise PriceChanged(f"The price of {terms.ticker} is now {terms.price}.", price=str(terms.price))


def trade_fill(terms: Terms, holdings: list[dict], order: Ask) -> Fill:
    """The order at the current price: a buy needs its total and fee in cash and averages its
    price into the holding; a sale needs the shares and yields its total less its fee."""
    held = next((h for h in holdings if h["company_id"] == order.company_id), None)
    total = terms.price * order.quantity
    if order.side == TradeType.BUY:
        fee = money(total * terms.buy_fee_rate)
        cost = total + fee
        available = terms.available_cash
        if cost > available:
            held_by_orders = f" ({terms.reserved_cash} more is held by your open orders)" if terms.reserved_cash else ""
            raise InsufficientFunds(
                f"Not enough cash: you have {available}{held_by_orders} and need {cost}.",
                cash=str(available),
                needed=str(cost),
            )
        before = held or {
            "id": None,
            "company_id": order.company_id,
            "quantity": 0,
            "reserved_quantity": 0,
            "average_cost": ZERO,
        }
        quantity = before["quantity"] + order.quantity
        average = average_cost(before["average_cost"] * before["quantity"] + total, quantity)
        return Fill(total, fee, terms.cash - cost, {**before, "quantity": quantity, "average_cost": average})
    fee = money(total * terms.sell_fee_rate)
    quantity = held["quantity"] if held else 0
    reserved = held.get("reserved_quantity", 0) if held else 0
    if order.quantity > quantity - reserved:
        held_by_orders = f" free ({reserved} more held by your open orders)" if reserved else ""
        raise InsufficientShares(
            f"Not enough shares: you have {quantity - reserved} {terms.ticker}{held_by_orders}"
            f" and tried to sell {order.quantity}.",
            held=quantity - reserved,
        )
    left = quantity - order.quantity
    return Fill(
        total,
        fee,
        terms.cash + total - fee,
        {**held, "quantity": left, "average_cost": held["average_cost"] if left else ZERO},
    )


# The trade


def trade_execute(
    *,
    participant: Participant,
    company: Company,
    side: str,
    quantity: int,
    expected_price: Decimal | None = None,
    idempotency_key: str | None = None,
) -> TradeResult:
    """Buy or sell at the company's current price, atomically and serialised per team."""
    order_valid(side, quantity)
    order = Ask(company.pk, side, quantity, expected_price)
    team_id, stock_id = db.db_id(Participant, participant.pk), db.db_id(Company, company.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        locks.for_trade(company.pk)
        terms = read_terms(cursor, team_id, stock_id)
        trade_allowed(terms, order)
        holdings = read_holdings(cursor, team_id)
        result = trade_write(cursor, participant, company, order, terms, holdings, idempotency_key=idempotency_key)
        announce(result)
    return result


def trade_write(
    cursor,
    participant,
    company: Company,
    order: Ask,
    terms: Terms,
    holdings: list[dict],
    *,
    idempotency_key=None,
    order_id=None,
    rank: int | None = None,
) -> TradeResult:
    """Steps 2 and 3, under the locks step 1 took: the rules' check, then the writes. An order
    that waited (market/services/book.py) comes here too, its reservation already handed back in
    `terms` and `holdings`, its rank given (0) and set by the batch once all its trades are written."""
    fill = trade_fill(terms, holdings, order)
    trade = Transaction(
        id=uuid.uuid4(),
        company=company,
        type=order.side,
        quantity=order.quantity,
        price=terms.price,
        fee=fill.fee,
        day=terms.day,
        idempotency_key=idempotency_key,
        created_at=timezone.now(),
    )
    trade.from_order = order_id  # the waiting order it fills, if any: shown with the trade
    value = _write(cursor, db.db_id(Participant, participant.pk), db.db_id(Company, company.pk), trade, terms, fill)
    return _result(participant, trade, terms, fill, holdings, value, rank)


def read_terms(cursor, team_id, stock_id) -> Terms:
    """The team's row locked (every change to its cash or holdings takes this lock first, so its
    holdings need no lock of their own), read with the company and the rules."""
    cursor.execute(sql.TEAM_FOR_TRADE + db.for_update("p"), [team_id, stock_id])
    row = cursor.fetchone()
    if row is None:
        EventSettings.load()  # a new event has no settings row yet
        cursor.execute(sql.TEAM_FOR_TRADE + db.for_update("p"), [team_id, stock_id])
        row = cursor.fetchone()
        if row is None:
            raise Participant.DoesNotExist("No such team or company.")
    (cash, reserved_cash, frozen, team_name, starting_cash, trade_count, ticker, name, price, active, lot_size,
     buy_fee_rate, sell_fee_rate, day) = row  # fmt: skip
    return Terms(
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


def read_holdings(cursor, team_id) -> list[dict]:
    cursor.execute(sql.TEAM_HOLDINGS, [team_id])
    return [holding_of(row) for row in cursor.fetchall()]


def holding_of(row) -> dict:
    """A row of TEAM_HOLDINGS as the rules read it."""
    holding_id, company_id, held, reserved, cost, ticker, name, price = row
    return {
        "id": holding_id,
        "company_id": db.as_uuid(company_id),
        "quantity": held,
        "reserved_quantity": reserved,
        "average_cost": db.decimal_of(cost, AVERAGE_PLACES),
        "ticker": ticker,
        "name": name,
        "price": db.money_of(price),
    }


def _write(cursor, team_id, stock_id, trade: Transaction, terms: Terms, fill: Fill) -> Decimal:
    """The holding, the trade, and the team's cash, reservation, count and value; returns the new
    value."""
    holding = fill.holding
    if holding["id"] is None:
        cursor.execute(sql.HOLDING_INSERT, [team_id, stock_id, holding["quantity"], 0, holding["average_cost"]])
    else:
        cursor.execute(
            sql.HOLDING_UPDATE,
            [holding["quantity"], holding.get("reserved_quantity", 0), holding["average_cost"], holding["id"]],
        )
    now = db.db_time(trade.created_at)
    cursor.execute(
        sql.TRADE_INSERT,
        [db.db_id(Transaction, trade.pk), team_id, stock_id, trade.type, trade.quantity, trade.price, trade.fee,
         trade.day, trade.idempotency_key, now],
    )  # fmt: skip
    cursor.execute(sql.TEAM_AFTER_TRADE, [fill.cash_after, terms.reserved_cash, now, now, fill.cash_after, team_id])
    return db.money_of(cursor.fetchone()[0])


def _result(
    participant, trade: Transaction, terms: Terms, fill: Fill, holdings: list[dict], value, rank=None
) -> TradeResult:
    """The trade and the team as they now are, and the portfolio the answer and the event show:
    read once, in the trade's own transaction, from what it read and wrote."""
    team = Participant(
        pk=participant.pk,
        user_id=participant.user_id,
        display_name=terms.team_name,
        cash=fill.cash_after,
        reserved_cash=terms.reserved_cash,
        starting_cash=terms.starting_cash,
        portfolio_value=value,
        trade_count=terms.trade_count + 1,
        last_trade_at=trade.created_at,
        updated_at=trade.created_at,
    )
    trade.participant = team
    trade.company.current_price = terms.price
    trade.total = fill.total
    holding = {**fill.holding, "ticker": terms.ticker, "name": terms.name, "price": terms.price}
    after = [holding if h["company_id"] == holding["company_id"] else h for h in holdings]
    if fill.holding["id"] is None:
        after.append(holding)
    portfolio = selectors.portfolio_of(team, after, rank=rank)
    return TradeResult(trade, portfolio, events.portfolio_data(portfolio), events.own_trade(trade))


def announce(result: TradeResult, *, standings: bool = True) -> None:
    """Once the trade commits: the public tape, the team's own portfolio with the trade (its
    history page shows it without asking), the leaderboard, the log line and the count.
    `standings=False`: the caller renews the leaderboard once for many trades (a fill pass)."""
    trade, team = result.transaction, result.transaction.participant
    if standings:
        reads_changed("leaderboard")
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
    broadcast("trade", events.trade(trade, team))
    broadcast("portfolio", {**result.portfolio_data, "transaction": result.transaction_data}, to=team.user_id)
    if standings:
        leaderboard_changed()
