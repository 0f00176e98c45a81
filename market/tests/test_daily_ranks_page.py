"""A team's days on its portfolio page: its value at each day's close, that day's return and its
rank among the teams that day (market.selectors.daily_ranks), and on a phone too."""

import html
import re
from decimal import Decimal

import pytest
from django.test import override_settings

from market.models import EventSettings
from market.services import market_close, market_open, price_set, trade_execute

pytestmark = pytest.mark.django_db

PASSWORD = "lantern-harbour-41"
PHONE = {"width": 390, "height": 844}


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def days_card(response) -> str:
    page = response.content.decode()
    found = re.search(r'<section class="card" aria-labelledby="days-title">(.*?)</section>', page, re.S)
    assert found, "no days on the page"
    return found.group(1)


def rows(response) -> list[list[str]]:
    body = re.search(r'<tbody data-role="days">(.*?)</tbody>', days_card(response), re.S).group(1)
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def headings(response) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", days_card(response), re.S).group(1)
    return [text(cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


@pytest.fixture
def two_days(make_team, make_company):
    """Three teams over two closed days: Bears second both days, Bulls first then last."""
    acme = make_company("ACME", "10.00")
    bulls, bears, owls = make_team("Bulls"), make_team("Bears"), make_team("Owls")
    market_open(by=None)
    trade_execute(participant=bulls, company=acme, side="buy", quantity=1000)
    trade_execute(participant=bears, company=acme, side="buy", quantity=100)
    price_set(company=acme, price=Decimal("11.00"), by=None)  # Bulls +1,000, Bears +100
    market_close(by=None)
    market_open(by=None)
    price_set(company=acme, price=Decimal("9.00"), by=None)
    trade_execute(participant=owls, company=acme, side="buy", quantity=10)
    price_set(company=acme, price=Decimal("9.90"), by=None)  # Owls +9, the others down
    market_close(by=None)
    return {"bulls": bulls, "bears": bears, "owls": owls}


def portfolio_of(client, team):
    client.force_login(team.user)
    response = client.get("/portfolio/")
    assert response.status_code == 200
    return response


def test_a_team_sees_its_value_return_and_rank_at_each_days_close(client, two_days):
    response = portfolio_of(client, two_days["bears"])

    assert headings(response) == ["Day", "Value at close", "Return that day", "Rank among the teams"]
    assert rows(response) == [
        ["Day 1", "100,100.00", "▲ 0.10%", "2 of 3"],
        ["Day 2", "99,990.00", "▼ 0.11%", "2 of 3"],
    ]


def test_each_team_sees_its_own_days_only(client, two_days):
    # An outsider's page: the same days, its own figures.
    assert rows(portfolio_of(client, two_days["bulls"])) == [
        ["Day 1", "101,000.00", "▲ 1.00%", "1 of 3"],
        ["Day 2", "99,900.00", "▼ 1.09%", "3 of 3"],
    ]
    assert rows(portfolio_of(client, two_days["owls"]))[1][-1] == "1 of 3"


def test_the_currency_label_is_the_events(client, two_days, settings):
    settings.EVENT_CURRENCY = "IDR"

    assert rows(portfolio_of(client, two_days["bears"]))[0][1] == "IDR 100,100.00"


def test_a_gain_and_a_loss_are_marked_beyond_their_colour(client, two_days):
    card = days_card(portfolio_of(client, two_days["bears"]))

    assert '<td class="num change up">▲ 0.10%</td>' in card
    assert '<td class="num change down">▼ 0.11%</td>' in card


def test_before_the_first_close_the_table_says_when_it_fills(client, team, open_market):
    response = portfolio_of(client, team)

    assert rows(response) == [["How you stood at each day's close shows here once the first day closes."]]


def test_ranks_stay_hidden_while_the_leaderboard_is_hidden(client, two_days):
    EventSettings.objects.filter(pk=EventSettings.load().pk).update(leaderboard_visible=False)

    response = portfolio_of(client, two_days["bears"])

    assert headings(response) == ["Day", "Value at close", "Return that day"]
    assert rows(response)[0] == ["Day 1", "100,100.00", "▲ 0.10%"]
    assert "Ranks show when the organisers show the leaderboard." in text(days_card(response))


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)  # committed, so the server process sees it
def test_on_a_phone_the_days_fit_the_screen(browser, server, two_days):
    team = two_days["bears"]
    # A password the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        team.user.set_password(PASSWORD)
        team.user.save(update_fields=["password"])
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        base = f"http://127.0.0.1:{server['port']}"
        page.goto(f"{base}/signin/?next=/portfolio/")
        page.get_by_label("E-mail").fill(team.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/portfolio/")

        days = page.locator("table.days")
        assert days.locator("tbody tr").first.inner_text().split() == [
            "Day",
            "1",
            "100,100.00",
            "▲",
            "0.10%",
            "2",
            "of",
            "3",
        ]
        assert days.get_by_role("columnheader", name="Value at close").count() == 1  # named whole, shown short
        # Neither the page nor the table scrolls sideways: every column is on the screen.
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert days.evaluate("(table) => table.scrollWidth <= table.parentElement.clientWidth")
        box = days.locator("thead th").last.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]
    finally:
        context.close()
