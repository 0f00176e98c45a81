"""The `data` of each live event (SPEC §5), built from the same serializers as the HTTP API
(each made once: brainstorm.serializers.represent)."""

from typing import Any

from brainstorm.read_cache import read_cached
from brainstorm.serializers import represent, represent_many
from market import selectors
from market.models import Company, EventSettings, Participant, Transaction
from market.serializers import CompanySerializer, LeaderboardEntrySerializer, MarketSerializer, PortfolioSerializer
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
    return {
        "ticker": trade.company.ticker,
        "type": trade.type,
        "quantity": trade.quantity,
        "price": str(trade.price),
        "team": team.display_name,
    }


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


def snapshot(*, include_leaderboard: bool = True) -> dict[str, Any]:
    """Everything a screen needs to draw itself from nothing (each part from the read cache: a
    server restart reconnects every screen at once)."""
    return {
        "market": read_cached("market", "state", market),
        "companies": read_cached("companies", "snapshot", _all_companies),
        "leaderboard": read_cached("leaderboard", "top", leaderboard_top) if include_leaderboard else [],
        "news": read_cached("news", "latest", _latest_news, seconds=feed_seconds),
    }


def _all_companies() -> list[dict[str, Any]]:
    return represent_many(CompanySerializer, Company.objects.order_by("ticker"))


def _latest_news() -> list[dict[str, Any]]:
    return represent_many(NewsSerializer, News.objects.feed()[:SNAPSHOT_NEWS])


def leaderboard_visible_to_teams() -> bool:
    return EventSettings.load().leaderboard_visible
