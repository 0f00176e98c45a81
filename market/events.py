"""The market's live events (SPEC §5): their `data`, built from the same serializers as the HTTP
API (each made once: common.serializers.represent), and the leaderboard's and the ranks' events,
coalesced. The live layer (overlay/) carries them without knowing what they mean."""

from typing import Any

from django.conf import settings
from django.db import transaction

from common.read_cache import read_cached
from common.serializers import represent, represent_many
from market import selectors
from market.models import Company, EventSettings, Order, Participant, Transaction
from market.serializers import (
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    OrderSerializer,
    PortfolioSerializer,
    TransactionSerializer,
)
from overlay.events import ALL, STAFF, Coalescer, envelope, send_each, send_now

LEADERBOARD_TOP = 10
SNAPSHOT_TRADES = 20


def market() -> dict[str, Any]:
    return represent(MarketSerializer, selectors.market_state())


def company(company: Company) -> dict[str, Any]:
    return represent(CompanySerializer, company)


def price(company: Company) -> dict[str, Any]:
    """SPEC's `{ticker, price, previous_price, change, change_pct}`, plus the rest of the company
    (name, is_active), so a screen can also draw a company it has not seen before."""
    return represent(CompanySerializer, company)


def trade(trade: Transaction, team: Participant) -> dict[str, Any]:
    """SPEC's `{ticker, type, quantity, price, team}`, plus what the control room's tape shows and
    needs to offer a reversal (`id`, `total`, `fee`, `day`, `created_at`)."""
    return {
        "id": str(trade.pk),
        "ticker": trade.company.ticker,
        "type": trade.type,
        "quantity": trade.quantity,
        "price": str(trade.price),
        "total": str(trade.total),
        "fee": str(trade.fee),
        "day": trade.day,
        "team": team.display_name,
        "created_at": trade.created_at,
    }


def own_trade(trade: Transaction) -> dict[str, Any]:
    """A team's own trade, as its history and the API show it."""
    return represent(TransactionSerializer, trade)


def order(order: Order) -> dict[str, Any]:
    """A team's own order (SPEC §4b), as the API shows it."""
    return represent(OrderSerializer, order)


def open_orders(team: Participant) -> list[dict[str, Any]]:
    """The team's open orders, oldest first: what its trade page lists (the snapshot's `orders`)."""
    orders = Order.objects.filter(participant=team, status="open").select_related("company").order_by("created_at")
    return represent_many(OrderSerializer, orders)


def portfolio(team: Participant) -> dict[str, Any]:
    return portfolio_data(selectors.portfolio(team))


def portfolio_data(portfolio: dict) -> dict[str, Any]:
    """A portfolio already read (selectors.portfolio), in the event's form."""
    return represent(PortfolioSerializer, portfolio)


def leaderboard_top(limit: int = LEADERBOARD_TOP) -> list[dict[str, Any]]:
    entries = [selectors.leaderboard_entry(team) for team in selectors.leaderboard()[:limit]]
    return represent_many(LeaderboardEntrySerializer, entries)


def team_ranks() -> dict:
    """Every team's rank, by the id of its account (what a team's connection knows it by)."""
    return dict(selectors.leaderboard().values_list("user_id", "rank"))


def leaderboard_visible_to_teams() -> bool:
    return EventSettings.load().leaderboard_visible


# The snapshot's parts (market.live hands them to the live layer); each from the read cache: a
# server restart reconnects every screen at once.


def cached_market() -> dict[str, Any]:
    return read_cached("market", "state", market)


def cached_companies() -> list[dict[str, Any]]:
    return read_cached("companies", "snapshot", _all_companies)


def cached_leaderboard() -> list[dict[str, Any]]:
    return read_cached("leaderboard", "top", leaderboard_top)


def latest_trades(limit: int = SNAPSHOT_TRADES) -> list[dict[str, Any]]:
    """The newest trades not reversed, newest first, as their `trade` events showed them."""
    trades = (
        Transaction.objects.filter(reversed_at__isnull=True)
        .select_related("company", "participant")
        .order_by("-created_at")[:limit]
    )
    return [trade(item, item.participant) for item in trades]


def _all_companies() -> list[dict[str, Any]]:
    return represent_many(CompanySerializer, Company.objects.order_by("ticker"))


# The leaderboard and every team's rank, after values changed


def _audience() -> str:
    return ALL if leaderboard_visible_to_teams() else STAFF


def _emit_leaderboard() -> None:
    send_now(envelope("leaderboard", {"entries": leaderboard_top()}), audience=_audience())


def _emit_ranks() -> None:
    # Every team's rank, in one message: each team's connections get a `rank` event when theirs
    # changed, so a team page shows its rank after a price change without asking.
    send_each("rank", {user_id: {"rank": rank} for user_id, rank in team_ranks().items()}, audience=_audience())


leaderboard_events = Coalescer(_emit_leaderboard, interval=settings.LEADERBOARD_EVENT_INTERVAL)
# In a burst nearly every team's rank moves every second: one small frame per team each time.
rank_events = Coalescer(_emit_ranks, interval=settings.RANK_EVENT_INTERVAL)


def leaderboard_changed() -> None:
    """Values changed: a `leaderboard` event follows the commit, at most one a second, and each
    team's `rank`, at most one every RANK_EVENT_INTERVAL."""
    transaction.on_commit(leaderboard_events.request, robust=True)
    transaction.on_commit(rank_events.request, robust=True)
