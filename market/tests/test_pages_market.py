"""The market page: prices with their change, the chart of a company, the news feed, the header."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from market import services
from newsroom.services import news_create

pytestmark = pytest.mark.django_db


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def json_script(response, element_id: str):
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert found, f"no {element_id} on the page"
    return json.loads(found.group(1))


def quote_row(response, ticker: str) -> str:
    found = re.search(rf'<tr data-quote="{ticker}".*?</tr>', main(response), re.S)
    assert found, f"no row for {ticker}"
    return found.group(0)


def cell(row: str, field: str) -> tuple[str, str]:
    """(class, text) of the cell showing `field`."""
    found = re.search(rf'<td class="([^"]*)" data-field="{field}">([^<]*)</td>', row)
    assert found, f"no {field} in {row}"
    return found.group(1), found.group(2)


def header_market(response) -> str:
    found = re.search(r'<span class="market [^"]*" data-role="market"[^>]*>([^<]*)</span>', response.content.decode())
    assert found, "no market status in the header"
    return found.group(1)


def header_cash(response) -> str:
    found = re.search(r'data-role="team-cash">([^<]*)</dd>', response.content.decode())
    assert found, "no cash in the header"
    return found.group(1)


def news_titles(response) -> list[str]:
    feed = re.search(r'<ol class="news-feed"[^>]*>(.*?)</ol>', main(response), re.S).group(1)
    return re.findall(r'<a href="/news/[0-9a-f-]+/">([^<]*)</a>', feed)


@pytest.fixture
def team_client(client, team):
    client.force_login(team.user)
    return client


def test_companies_show_price_and_change_with_colour_and_an_arrow(team_client, make_company):
    rising = make_company("ACME", "10.00")
    services.price_set(company=rising, price=Decimal("11.50"), by=None)
    make_company("BETA", "18.00", previous_price=Decimal("20.00"))
    make_company("FLAT", "5.00")

    response = team_client.get("/market/")

    assert response.status_code == 200
    acme, beta, flat = (quote_row(response, ticker) for ticker in ("ACME", "BETA", "FLAT"))
    assert cell(acme, "price") == ("num", "11.50")
    assert cell(acme, "change") == ("num change up", "▲ 1.50")
    assert cell(acme, "change_pct") == ("num change up", "▲ 15.00%")
    assert cell(beta, "price") == ("num", "18.00")
    assert cell(beta, "change") == ("num change down", "▼ 2.00")
    assert cell(beta, "change_pct") == ("num change down", "▼ 10.00%")
    assert cell(flat, "change") == ("num change flat", "■ 0.00")


def test_prices_have_thousands_separators(team_client, make_company):
    make_company("BIG", "1234567.80")

    response = team_client.get("/market/")

    assert cell(quote_row(response, "BIG"), "price") == ("num", "1,234,567.80")


def test_a_suspended_company_is_listed_but_offers_no_trade(team_client, company, make_company):
    make_company("SUSP", "7.00", is_active=False)

    response = team_client.get("/market/")

    suspended = quote_row(response, "SUSP")
    assert "suspended" in suspended
    assert "/trade/?company=SUSP" not in suspended
    assert "/trade/?company=ACME" in quote_row(response, "ACME")


def test_the_chart_shows_the_first_active_company_by_default(team_client, make_company):
    make_company("AAA", "3.00", is_active=False)
    make_company("BETA", "20.00")
    make_company("ZETA", "30.00")

    response = team_client.get("/market/")

    assert 'data-ticker="BETA"' in main(response)
    assert [point["price"] for point in json_script(response, "chart-data")["daily"]] == ["20.00"]


@pytest.mark.parametrize("asked", ["ZETA", "zeta"])
def test_the_company_query_chooses_the_chart(team_client, make_company, asked):
    make_company("BETA", "20.00")
    make_company("ZETA", "30.00")

    response = team_client.get("/market/", {"company": asked})

    assert 'data-ticker="ZETA"' in main(response)
    assert 'data-ticker="BETA"' not in main(response)
    chart = json_script(response, "chart-data")
    assert chart["daily"] == [{"label": "Listed", "price": "30.00"}]
    assert [point["price"] for point in chart["intraday"]] == ["30.00"]


def test_an_unknown_company_in_the_query_falls_back_to_the_first(team_client, company):
    response = team_client.get("/market/", {"company": "NOPE"})

    assert response.status_code == 200
    assert 'data-ticker="ACME"' in main(response)


def test_the_chart_data_has_todays_changes_and_the_days(team_client, company, open_market):
    services.price_set(company=company, price=Decimal("11.50"), by=None)

    chart = json_script(team_client.get("/market/", {"company": "ACME"}), "chart-data")

    assert chart["daily"] == [{"label": "Listed", "price": "10.00"}, {"label": "Day 1", "price": "11.50"}]
    assert [point["price"] for point in chart["intraday"]] == ["10.00", "11.50"]
    assert all(isinstance(point["at"], str) for point in chart["intraday"])


def test_the_chart_of_a_second_day_starts_at_the_price_it_opened_with(team_client, company, open_market):
    services.price_set(company=company, price=Decimal("11.50"), by=None)
    services.market_close(by=None)
    services.market_open(by=None)
    services.price_set(company=company, price=Decimal("12.25"), by=None)

    chart = json_script(team_client.get("/market/"), "chart-data")

    assert chart["daily"] == [
        {"label": "Listed", "price": "10.00"},
        {"label": "Day 1", "price": "11.50"},
        {"label": "Day 2", "price": "12.25"},
    ]
    assert [point["price"] for point in chart["intraday"]] == ["11.50", "12.25"]


def test_the_news_feed_is_newest_first_without_drafts_or_scheduled_items(team_client):
    now = timezone.now()
    news_create(by=None, title="Older headline", content="…", published_at=now - timedelta(hours=2))
    news_create(by=None, title="Newer headline", content="…", published_at=now - timedelta(hours=1))
    news_create(by=None, title="Draft headline", content="…", published_at=None)
    news_create(by=None, title="Scheduled headline", content="…", published_at=now + timedelta(hours=1))

    response = team_client.get("/market/")

    assert news_titles(response) == ["Newer headline", "Older headline"]
    assert "Draft headline" not in response.content.decode()
    assert "Scheduled headline" not in response.content.decode()


def test_the_news_feed_shows_the_five_latest(team_client):
    now = timezone.now()
    for n in range(1, 7):
        news_create(by=None, title=f"Headline {n}", content="…", published_at=now - timedelta(minutes=10 - n))

    response = team_client.get("/market/")

    assert news_titles(response) == ["Headline 6", "Headline 5", "Headline 4", "Headline 3", "Headline 2"]


def test_money_has_thousands_separators_and_shows_only_this_teams_cash(client, make_team):
    team = make_team("Bull Riders")
    make_team("Rich Outsiders", starting_cash=Decimal("2500000.00"))
    client.force_login(team.user)

    response = client.get("/market/")

    assert header_cash(response) == "100,000.00"
    assert "2,500,000.00" not in response.content.decode()


def test_money_shows_the_event_currency_when_there_is_one(team_client, settings):
    settings.EVENT_CURRENCY = "IDR"

    response = team_client.get("/market/")

    assert header_cash(response) == "IDR 100,000.00"


def test_the_header_says_when_trading_is_open(team_client, open_market):
    assert header_market(team_client.get("/market/")) == "Day 1 · Trading open"


def test_the_header_says_trading_is_closed_before_the_first_day(team_client):
    assert header_market(team_client.get("/market/")) == "Trading closed"


def test_the_header_says_trading_is_closed_after_the_closing_bell(team_client, open_market):
    services.market_close(by=None)

    assert header_market(team_client.get("/market/")) == "Day 1 · Trading closed"


def test_an_anonymous_visitor_is_sent_to_sign_in(client, company):
    response = client.get("/market/")

    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/market/"


def test_an_organiser_gets_the_page_for_teams(client, admin_user, company):
    client.force_login(admin_user)

    response = client.get("/market/")

    assert response.status_code == 403
    assert "This page is for teams" in main(response)
    assert "chart-data" not in response.content.decode()
