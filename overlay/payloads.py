"""The `data` of each live event (SPEC §5), built from the same serializers as the HTTP API
(each made once: common.serializers.represent)."""

from typing import Any

from common.read_cache import read_cached
from common.serializers import represent, represent_many
from market import selectors
from market.models import Company, EventSettings, Participant, Transaction
from market.serializers import (
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    PortfolioSerializer,
    TransactionSerializer,
)
from newsroom.models import News
from newsroom.selectors import feed_seconds
from newsroom.serializers import NewsSerializer

LEADERBOARD_TOP = 10
SNAPSHOT_NEWS = 5


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


def transaction(trade: Transaction) -> dict[str, Any]:
    """A team's own trade, as its history and the API show it."""
    return represent(TransactionSerializer, trade)


def portfolio(team: Participant) -> dict[str, Any]:
    return portfolio_data(selectors.portfolio(team))


def portfolio_data(portfolio: dict) -> dict[str, Any]:
    """A portfolio already read (selectors.portfolio), in the event's form."""
    return represent(PortfolioSerializer, portfolio)


def news(item: News) -> dict[str, Any]:
    return {"id": str(item.pk), "title": item.title, "published_at": item.published_at}


def leaderboard_top(limit: int = LEADERBOARD_TOP) -> list[dict[str, Any]]:
    entries = [selectors.leaderboard_entry(team) for team in selectors.leaderboard()[:limit]]
    return represent_many(LeaderboardEntrySerializer, entries)


def team_ranks() -> dict:
    """Every team's rank, by the id of its account (what a team's connection knows it by)."""
    return dict(selectors.leaderboard().values_list("user_id", "rank"))


def snapshot(*, include_leaderboard: bool = True) -> dict[str, Any]:
    """Everything a screen of the default topics needs to draw itself from nothing (each part from
    the read cache: a server restart reconnects every screen at once)."""
    return {
        "market": read_cached("market", "state", market),
        "companies": read_cached("companies", "snapshot", _all_companies),
        "leaderboard": read_cached("leaderboard", "top", leaderboard_top) if include_leaderboard else [],
        "news": read_cached("news", "latest", _latest_news, seconds=feed_seconds),
    }


SNAPSHOT_TRADES = 20


def snapshot_for(viewer, topics: frozenset[str]) -> dict[str, Any]:
    """What a connection's topics need to draw its screen from nothing (SPEC §5): the market state
    always; the companies with `market`, the top ten with `leaderboard` (empty for a team while the
    event hides it), the latest news with `news`, the team's own portfolio with `own`, the latest
    trades with `trades`."""
    data: dict[str, Any] = {"market": read_cached("market", "state", market)}
    if "market" in topics:
        data["companies"] = read_cached("companies", "snapshot", _all_companies)
    if "leaderboard" in topics:
        shown = viewer.sees_staff_events or leaderboard_visible_to_teams()
        data["leaderboard"] = read_cached("leaderboard", "top", leaderboard_top) if shown else []
    if "news" in topics:
        data["news"] = read_cached("news", "latest", _latest_news, seconds=feed_seconds)
    if "own" in topics and viewer.is_team:
        data["portfolio"] = portfolio(viewer.user.participant)
    if "trades" in topics:
        data["trades"] = latest_trades()
    return data


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


def _latest_news() -> list[dict[str, Any]]:
    return represent_many(NewsSerializer, News.objects.feed()[:SNAPSHOT_NEWS])


def leaderboard_visible_to_teams() -> bool:
    return EventSettings.load().leaderboard_visible
