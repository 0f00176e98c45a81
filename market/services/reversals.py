"""A trade undone exactly, by an organiser: its money and shares given back, the trade kept and
marked reversed."""

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
        locks.for_trade(trade.company_id)
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
