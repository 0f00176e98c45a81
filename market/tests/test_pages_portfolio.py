"""A team's own pages: its portfolio, its trade history, and where it stands on the leaderboard."""

import html
import json
import re
from decimal import Decimal

import pytest

from market import services

pytestmark = pytest.mark.django_db


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def json_script(response, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert found, f"no {element_id} on the page"
    return json.loads(found.group(1))


def summary(response) -> dict[str, str]:
    return {
        field: text(value)
        for field, value in re.findall(r'<dd class="[^"]*" data-field="(\w+)">(.*?)</dd>', main(response), re.S)
    }


def table_rows(response, tbody_role: str) -> list[list[str]]:
    """Each row of a table body as the words of its cells."""
    body = re.search(rf'<tbody data-role="{tbody_role}">(.*?)</tbody>', main(response), re.S).group(1)
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def buy(team, company, quantity: int):
    return services.trade_execute(participant=team, company=company, side="buy", quantity=quantity)


@pytest.fixture
def team_client(client, team):
    client.force_login(team.user)
    return client


# Portfolio


def test_portfolio_shows_cash_holdings_totals_return_and_rank(
    team_client, team, make_team, company, make_company, open_market
):
    richer = make_team("Deep Pockets", starting_cash=Decimal("150000.00"))
    other_company = make_company("BETA", "20.00")
    buy(richer, other_company, 100)
    buy(team, company, 10)
    services.price_set(company=company, price=Decimal("12.00"), by=None)

    response = team_client.get("/portfolio/")

    assert response.status_code == 200
    assert summary(response) == {
        "cash": "99,900.00",
        "holdings_value": "120.00",
        "total_value": "100,020.00",
        "return_pct": "▲ 0.02%",
        "rank": "2",
    }
    rows = table_rows(response, "holdings")
    assert [row[:6] for row in rows] == [["ACME Acme", "10", "10.00", "12.00", "120.00", "▲ 20.00"]]


def test_a_loss_shows_a_down_arrow(team_client, team, company, open_market):
    buy(team, company, 100)
    services.price_set(company=company, price=Decimal("9.25"), by=None)

    response = team_client.get("/portfolio/")

    assert table_rows(response, "holdings")[0][5] == "▼ 75.00"
    assert summary(response)["return_pct"] == "▼ 0.08%"


def test_portfolio_never_shows_another_teams_holdings(
    team_client, team, other_team, company, make_company, open_market
):
    secret = make_company("SECRET", "5.00")
    buy(other_team, secret, 400)
    buy(other_team, company, 30)

    response = team_client.get("/portfolio/")

    assert table_rows(response, "holdings") == [["No shares yet. Place your first order."]]
    assert "SECRET" not in main(response)
    assert summary(response)["cash"] == "100,000.00"


def test_the_value_chart_has_the_start_each_close_and_now(team_client, team, company, open_market):
    buy(team, company, 10)
    services.price_set(company=company, price=Decimal("12.00"), by=None)
    services.market_close(by=None)
    services.market_open(by=None)
    services.price_set(company=company, price=Decimal("13.00"), by=None)

    chart = json_script(team_client.get("/portfolio/"), "value-data")

    assert chart == [
        {"label": "Start", "value": "100000.00"},
        {"label": "Day 1", "value": "100020.00"},
        {"label": "Now", "value": "100030.00"},
    ]


def test_the_value_chart_of_a_new_team_is_start_and_now(team_client, other_team, company, open_market):
    buy(other_team, company, 10)
    services.market_close(by=None)

    chart = json_script(team_client.get("/portfolio/"), "value-data")

    assert chart == [
        {"label": "Start", "value": "100000.00"},
        {"label": "Day 1", "value": "100000.00"},
        {"label": "Now", "value": "100000.00"},
    ]


# History


@pytest.fixture
def thirty_trades(team, other_team, company, open_market):
    """The team bought 1, 2, … 30 shares in that order; the other team bought 999 once."""
    for quantity in range(1, 31):
        buy(team, company, quantity)
    buy(other_team, company, 999)


def quantities(response) -> list[str]:
    return [row[4] for row in table_rows(response, "trade-rows")]


def test_history_lists_own_trades_newest_first_25_a_page(team_client, thirty_trades):
    first = team_client.get("/history/")
    second = team_client.get("/history/", {"page": 2})

    assert first.status_code == second.status_code == 200
    assert quantities(first) == [str(n) for n in range(30, 5, -1)]
    assert quantities(second) == ["5", "4", "3", "2", "1"]
    assert "Page 1 of 2" in main(first)
    assert table_rows(first, "trade-rows")[0][2:4] == ["Buy", "ACME"]


@pytest.mark.parametrize("page, shown", [("abc", "30"), ("999", "5"), ("-1", "5"), ("", "30")])
def test_history_with_a_strange_page_number_shows_a_page(team_client, thirty_trades, page, shown):
    response = team_client.get("/history/", {"page": page})

    assert response.status_code == 200
    assert quantities(response)[0] == shown


def test_history_never_shows_another_teams_trades(team_client, thirty_trades):
    shown = quantities(team_client.get("/history/")) + quantities(team_client.get("/history/", {"page": 2}))

    assert "999" not in shown
    assert len(shown) == 30


def test_history_of_a_team_without_trades_says_so(team_client, other_team, company, open_market):
    buy(other_team, company, 5)

    response = team_client.get("/history/")

    assert table_rows(response, "trade-rows") == [["No trades yet."]]


# Leaderboard


@pytest.fixture
def three_teams(make_team):
    middle = make_team("Bull Riders")
    make_team("Bear Necessities", starting_cash=Decimal("150000.00"))
    make_team("Cat Traders", starting_cash=Decimal("50000.00"))
    return middle


def test_leaderboard_ranks_every_team_and_marks_our_row(client, three_teams):
    client.force_login(three_teams.user)

    response = client.get("/leaderboard/")

    assert response.status_code == 200
    assert [row[:4] for row in table_rows(response, "leaderboard-rows")] == [
        ["1", "Bear Necessities", "", "150,000.00"],
        ["2", "Bull Riders you", "", "100,000.00"],
        ["3", "Cat Traders", "", "50,000.00"],
    ]
    assert main(response).count('class="own"') == 1


def test_the_leaderboard_follows_prices(client, three_teams, company, open_market):
    buy(three_teams, company, 5000)
    services.price_set(company=company, price=Decimal("25.00"), by=None)  # 50,000 + 125,000
    client.force_login(three_teams.user)

    rows = table_rows(client.get("/leaderboard/"), "leaderboard-rows")

    assert [row[:2] for row in rows] == [["1", "Bull Riders you"], ["2", "Bear Necessities"], ["3", "Cat Traders"]]


def test_a_hidden_leaderboard_shows_no_teams_and_loses_its_link(client, three_teams, event_settings):
    client.force_login(three_teams.user)
    assert 'href="/leaderboard/"' in client.get("/market/").content.decode()
    event_settings.leaderboard_visible = False
    event_settings.save()

    response = client.get("/leaderboard/")

    assert response.status_code == 403
    assert "Leaderboard hidden" in main(response)
    page = response.content.decode()
    assert "Bear Necessities" not in page
    assert "Cat Traders" not in page
    assert "Bull Riders" not in main(response)
    assert 'href="/leaderboard/"' not in client.get("/market/").content.decode()


@pytest.mark.parametrize("path", ["/portfolio/", "/history/", "/leaderboard/"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, team, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next={path}"


@pytest.mark.parametrize("path", ["/portfolio/", "/history/", "/leaderboard/"])
def test_an_organiser_gets_the_page_for_teams(client, admin_user, team, path):
    client.force_login(admin_user)

    response = client.get(path)

    assert response.status_code == 403
    assert "This page is for teams" in main(response)
    assert "Bull Riders" not in response.content.decode()
