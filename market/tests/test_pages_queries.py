"""Team pages cost a fixed number of queries, whatever the number of teams, companies or trades."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market import services
from newsroom.services import news_create

pytestmark = pytest.mark.django_db

PAGES = ["/market/", "/trade/", "/portfolio/", "/history/", "/leaderboard/", "/news/"]


def build(size: int, make_team, make_company) -> object:
    companies = [make_company(f"C{n}", "10.00") for n in range(size)]
    teams = [make_team(f"Team {n:03d}") for n in range(size)]
    for team in teams[:5]:
        for company in companies:
            services.trade_execute(participant=team, company=company, side="buy", quantity=2)
    for company in companies:
        services.price_set(company=company, price=Decimal("11.00"), by=None)
    for n in range(size):
        news_create(by=None, title=f"News {n}", content="x", published_at=None)
    return teams[0]


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_costs_the_same_queries_for_3_or_30_teams_and_companies(
    client, make_team, make_company, open_market, path
):
    small_team = build(3, make_team, make_company)
    client.force_login(small_team.user)
    small = queries(client, path)

    # Ten times the market, on top of it.
    more = [make_company(f"D{n}", "5.00") for n in range(27)]
    others = [make_team(f"Other {n:03d}") for n in range(27)]
    for company in more:
        services.trade_execute(participant=small_team, company=company, side="buy", quantity=1)
        services.trade_execute(participant=others[0], company=company, side="buy", quantity=1)
    large = queries(client, path)

    assert large == small, f"{path}: {small} queries with 3, {large} with 30"
    assert small <= 14, f"{path}: {small} queries"
