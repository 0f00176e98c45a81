"""A trade undone exactly, by an organiser: its money and shares given back, the trade kept and
marked reversed."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import User
from common.problems import InvalidInput
from common.read_cache import reads_changed
from market import events
from market.errors import ReversalRefused
from market.events import leaderboard_changed
from market.models import MAX_CASH, Holding, Participant, TradeType, Transaction
from market.money import ZERO, average_cost
from market.services import locks
from market.services.audit import audit
from market.services.teams import revalue
from overlay.events import broadcast


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


@dataclass(frozen=True)
class Undo:
    """What a reversal gives back: the team's cash and holding after it."""

    cash_after: Decimal
    held_before: int
    held_after: int


def reversal_check(
    *, trade: Transaction, team_name: str, cash: Decimal, held: int, reserved_cash=ZERO, reserved: int = 0
) -> Undo:
    """The rules of a reversal, with no database: a buy gives back its total + fee and takes its
    shares away (refused if the team no longer holds them, or its open sell orders hold them); a
    sale takes back its total − fee and returns its shares (refused if the team no longer has
    that cash, or its open buy orders hold it: cancel them first)."""
    if trade.reversed_at is not None:
        raise ReversalRefused("This trade has already been reversed.")
    ticker = trade.company.ticker
    if trade.type == TradeType.BUY:
        cash_after, held_after = cash + trade.total + trade.fee, held - trade.quantity
        if held_after < reserved:
            by_orders = f", {reserved} of them held by its open orders" if reserved else ""
            raise ReversalRefused(
                f"{team_name} holds {held} {ticker} now{by_orders}; reversing this buy would take away"
                f" {trade.quantity}.",
                held=held,
            )
    else:
        cash_after, held_after = cash - (trade.total - trade.fee), held + trade.quantity
        if cash_after < reserved_cash:
            by_orders = f", {reserved_cash} of it held by its open orders" if reserved_cash else ""
            raise ReversalRefused(
                f"{team_name} has {cash} in cash now{by_orders}; reversing this sale would take back"
                f" {trade.total - trade.fee}.",
                cash=str(cash),
            )
    if cash_after > MAX_CASH:
        raise ReversalRefused("The team's cash would be too large to record.")
    return Undo(cash_after, held, held_after)


def trade_reverse(*, trade: Transaction, by: User | None, reason: str) -> Transaction:
    """Undo one trade exactly. The trade stays, marked reversed, and counts nowhere after (cash,
    holdings, trade count, leaderboard). Locked like a trade (bell and company shared, then the
    team, then the holding), at any time: corrections are also made while the market is closed,
    and for frozen teams."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the trade is reversed.", errors={"reason": ["This field may not be blank."]})
    now = timezone.now()
    with transaction.atomic():
        locks.for_trade(trade.company_id)
        team = Participant.objects.select_for_update().get(pk=trade.participant_id)
        # Read afresh under the team's lock: a reversal of the same trade waits for this one.
        trade = Transaction.objects.select_related("company").get(pk=trade.pk)
        holding = (
            Holding.objects.select_for_update(of=("self",))
            .filter(participant=team, company=trade.company)
            .order_by()  # no join for the default ordering: lock the holding row only
            .first()
        )
        undo = reversal_check(
            trade=trade,
            team_name=team.display_name,
            cash=team.cash,
            held=holding.quantity if holding else 0,
            reserved_cash=team.reserved_cash,
            reserved=holding.reserved_quantity if holding else 0,
        )
        _write(
            trade,
            team,
            holding or Holding(participant=team, company=trade.company),
            undo,
            by=by,
            reason=reason,
            now=now,
        )
        _announce(trade, team, undo, by=by, reason=reason, now=now)
    return Transaction.objects.select_related("company", "participant", "reversed_by").get(pk=trade.pk)


def _write(trade: Transaction, team: Participant, holding: Holding, undo: Undo, *, by, reason: str, now) -> None:
    Transaction.objects.filter(pk=trade.pk, reversed_at__isnull=True).update(
        reversed_at=now, reversed_by=by, reversal_reason=reason
    )
    holding.quantity = undo.held_after
    holding.average_cost = (
        _replayed_average_cost(participant_id=team.pk, company_id=trade.company_id) if undo.held_after else ZERO
    )
    holding.save()
    standing = Transaction.objects.filter(participant=team, reversed_at__isnull=True).aggregate(
        count=Count("pk"), last=Max("created_at")
    )
    last_trade_at = team.last_trade_at
    if standing["last"] is None or standing["last"] < trade.created_at:
        last_trade_at = standing["last"]  # it was the team's latest trade: the one before counts now
    Participant.objects.filter(pk=team.pk).update(
        cash=undo.cash_after, trade_count=standing["count"], last_trade_at=last_trade_at, updated_at=now
    )
    revalue(Participant.objects.filter(pk=team.pk))


def _announce(trade: Transaction, team: Participant, undo: Undo, *, by, reason: str, now) -> None:
    audit(
        by=by,
        action="trade_reverse",
        target=f"transaction:{trade.pk}",
        participant=str(team.pk),
        team=team.display_name,
        ticker=trade.company.ticker,
        type=trade.type,
        quantity=trade.quantity,
        price=str(trade.price),
        total=str(trade.total),
        fee=str(trade.fee),
        day=trade.day,
        reason=reason,
        cash_before=str(team.cash),
        cash_after=str(undo.cash_after),
        holding_before=undo.held_before,
        holding_after=undo.held_after,
    )
    reads_changed("leaderboard")
    trade.reversed_at, trade.reversed_by, trade.reversal_reason = now, by, reason
    # The reversed trade with the team's portfolio: its history page marks it without asking.
    portfolio = {**events.portfolio(team), "transaction": events.own_trade(trade)}
    broadcast("portfolio", portfolio, to=team.user_id)
    leaderboard_changed()
