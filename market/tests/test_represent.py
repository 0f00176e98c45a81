"""The hot paths write their answers and events with serializers made once per class
(common.serializers.represent): what they write must be exactly what a new serializer writes."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from common.serializers import represent, represent_many
from market import selectors, services
from market.models import Company, Participant
from market.serializers import (
    CompanySerializer,
    LeaderboardEntrySerializer,
    MarketSerializer,
    PortfolioSerializer,
    TransactionSerializer,
)
from newsroom.models import News
from newsroom.serializers import NewsSerializer


def test_each_hot_serializer_made_once_writes_what_a_new_one_writes(make_team, make_company, open_market, admin_user):
    acme, bolt = make_company("ACME", "10.00"), make_company("BOLT", "7.25")
    teams = [make_team() for _ in range(3)]
    trades = [
        services.trade_execute(participant=teams[0], company=acme, side="buy", quantity=12),
        services.trade_execute(participant=teams[0], company=bolt, side="buy", quantity=3),
        services.trade_execute(participant=teams[1], company=acme, side="buy", quantity=5),
        services.trade_execute(participant=teams[0], company=acme, side="sell", quantity=2),
    ]
    trades = [result.transaction for result in trades]
    services.price_set(company=acme, price=Decimal("12.34"), by=admin_user)
    News.objects.create(title="Rates up", content="…", published_at=trades[0].created_at)

    for trade in trades:
        assert represent(TransactionSerializer, trade) == dict(TransactionSerializer(trade).data)
    for team in Participant.objects.all():
        portfolio = selectors.portfolio(team)
        assert represent(PortfolioSerializer, portfolio) == dict(PortfolioSerializer(portfolio).data)
    for company in Company.objects.all():
        assert represent(CompanySerializer, company) == dict(CompanySerializer(company).data)
    state = selectors.market_state()
    assert represent(MarketSerializer, state) == dict(MarketSerializer(state).data)
    entries = [selectors.leaderboard_entry(team) for team in selectors.leaderboard()]
    assert represent_many(LeaderboardEntrySerializer, entries) == list(
        LeaderboardEntrySerializer(entries, many=True).data
    )
    news = News.objects.all()
    assert represent_many(NewsSerializer, news) == list(NewsSerializer(news, many=True).data)
    # Written out, not a view of the serializer's state: a second call is a new, equal dict.
    first = represent(TransactionSerializer, trades[0])
    first["ticker"] = "XXX"
    assert represent(TransactionSerializer, trades[0])["ticker"] == "ACME"


def test_one_serializer_writes_for_many_threads_at_once(make_team, make_company, open_market):
    stocks = [make_company(f"S{n}", f"{n + 1}.50") for n in range(4)]
    teams = [make_team() for _ in range(8)]
    for n, team in enumerate(teams):
        services.trade_execute(participant=team, company=stocks[n % 4], side="buy", quantity=n + 1)
    portfolios = [selectors.portfolio(team) for team in teams]
    expected = [dict(PortfolioSerializer(portfolio).data) for portfolio in portfolios]

    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(lambda n: represent(PortfolioSerializer, portfolios[n % 8]), range(400)))
    assert written == [expected[n % 8] for n in range(400)]
