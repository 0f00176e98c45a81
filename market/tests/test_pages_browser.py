"""The team pages in a real browser (headless Chromium) against a real server: what a team that
has never seen the product does on event day, on a laptop and on a phone."""

import os
import shutil
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market.models import Company, Participant, Transaction
from market.services import company_create, price_set
from newsroom.services import news_create
from overlay.tests.servers import ROOT, api, start_server, stop_server

# Committed data, so the server process sees it; once, on SQLite: the pages are the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
WITHIN_MS = 2000
PASSWORD = "lantern-harbour-41"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context(browser):
    """A browser profile (one team's cookies); every page it opens must run without a script error."""
    context = browser.new_context(viewport=LAPTOP)
    errors = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert errors == [], errors


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def market(db, admin_user):
    company_create(by=None, ticker="ACME", name="Acme Robotics", current_price=Decimal("10.00"))
    company_create(by=None, ticker="BOLT", name="Bolt Energy", current_price=Decimal("3.50"))
    news_create(by=None, title="Welcome to the market", content="Trading starts soon.", published_at=timezone.now())
    return Token.objects.create(user=admin_user).key


def url(server, path: str) -> str:
    return f"http://127.0.0.1:{server['port']}{path}"


def sign_up(page, server, name: str = "Rocket Squad", email: str = "rocket@school.test") -> None:
    page.goto(url(server, "/signup/"))
    page.get_by_label("Team name").fill(name)
    page.get_by_label("School").fill("SMA 3")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create the team").click()
    page.wait_for_url("**/market/")


def live(page) -> None:
    page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)


def test_a_new_team_signs_up_hears_the_bell_buys_and_sees_its_portfolio_live(context, page, server, market):
    sign_up(page, server)
    live(page)
    status = page.locator("[data-role=market]")
    assert status.inner_text() == "Trading closed"
    assert page.locator("[data-role=team-name]").inner_text() == "Rocket Squad"

    api(server, market, "POST", "/api/admin/market/open")
    page.wait_for_function(
        "() => document.querySelector('[data-role=market]').textContent === 'Day 1 · Trading open'", timeout=WITHIN_MS
    )
    assert page.locator("[data-role=countdown]").inner_text() == ""  # no scheduled close: no countdown

    # A second screen of the same team keeps the portfolio open.
    portfolio = context.new_page()
    portfolio.goto(url(server, "/portfolio/"))
    live(portfolio)
    assert "No shares yet" in portfolio.locator("[data-role=holdings]").inner_text()

    page.get_by_role("link", name="Trade", exact=True).click()
    live(page)  # the trade page's prices come with its snapshot: the total is worked out from them
    page.get_by_label("Company").select_option("ACME")
    page.get_by_label("Quantity (shares)").fill("12")
    summary = page.locator("[data-role=summary]")
    page.wait_for_function(
        "() => document.querySelector('[data-role=summary] [data-role=total]').textContent === '120.00'"
    )
    assert summary.locator("[data-role=total]").inner_text() == "120.00"
    assert summary.locator("[data-role=fee]").inner_text() == "0.00"
    assert summary.locator("[data-role=cash-after]").inner_text() == "99,880.00"
    page.get_by_role("button", name="Place order").click()
    receipt = page.locator("[data-role=receipt]")
    receipt.wait_for()
    assert receipt.inner_text().startswith("Bought 12 ACME at 10.00.")

    # The other screen shows the trade without a reload.
    holding = portfolio.locator('[data-role=holdings] tr[data-holding="ACME"]')
    holding.wait_for(timeout=WITHIN_MS)
    assert holding.locator("td").first.inner_text() == "12"
    assert portfolio.locator("[data-role=portfolio-summary] [data-field=cash]").inner_text() == "99,880.00"
    assert portfolio.locator("[data-role=team-cash]").inner_text() == "99,880.00"

    # Overspending: warned while typing, refused in words when sent anyway.
    page.get_by_label("Quantity (shares)").fill("20000")
    warning = page.locator("[data-role=warning]")
    assert warning.inner_text() == "Not enough cash: you have 99,880.00 and need 200,000.00."
    page.get_by_role("button", name="Place order").click()
    refusal = page.locator("[data-role=refusal]")
    refusal.wait_for()
    assert refusal.inner_text() == "Not enough cash: you have 99,880.00 and need 200,000.00."
    team = Participant.objects.get(display_name="Rocket Squad")
    assert team.cash == Decimal("99880.00")
    assert Transaction.objects.filter(participant=team).count() == 1


def test_prices_and_news_arrive_on_the_market_page_without_a_reload(page, server, market):
    sign_up(page, server)
    live(page)
    row = page.locator('tr[data-quote="ACME"]')
    assert row.locator("[data-field=price]").inner_text() == "10.00"
    points = "() => Chart.getChart(document.getElementById('price-chart')).data.datasets[0].data.length"
    before = page.evaluate(points)

    acme = api(server, market, "GET", "/api/admin/companies")["results"][0]
    api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "12.50"})
    page.wait_for_function(
        "() => document.querySelector('tr[data-quote=\"ACME\"] [data-field=price]').textContent === '12.50'",
        timeout=WITHIN_MS,
    )
    change = row.locator("[data-field=change]")
    assert change.inner_text() == "▲ 2.50"  # an arrow, not only a colour
    assert "up" in change.get_attribute("class")
    assert page.evaluate(points) == before + 1

    api(server, market, "POST", "/api/admin/news", {"title": "Acme wins a contract", "content": "Big one."})
    item = api(server, market, "GET", "/api/admin/news")["results"][0]
    api(server, market, "PATCH", f"/api/admin/news/{item['id']}", {"published_at": "2026-01-02T00:00:00Z"})
    first = page.locator("[data-role=news-feed] li").first
    page.wait_for_function(
        "() => document.querySelector('[data-role=news-feed] li a').textContent === 'Acme wins a contract'",
        timeout=WITHIN_MS,
    )
    first.locator("a").click()
    page.wait_for_url(f"**/news/{item['id']}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme wins a contract"


def test_the_offline_banner_shows_while_the_server_is_down_and_the_page_resyncs_after(page, server, market):
    sign_up(page, server)
    live(page)
    banner = page.locator("#offline")
    assert banner.is_hidden()

    stop_server(server["process"])
    banner.wait_for(state="visible", timeout=5000)
    assert "Connection lost" in banner.inner_text()
    price_set(company=Company.objects.get(ticker="BOLT"), price=Decimal("4.00"), by=None)  # missed while down
    server["process"] = start_server(server["port"])

    banner.wait_for(state="hidden", timeout=20000)
    page.wait_for_function(
        "() => document.querySelector('tr[data-quote=\"BOLT\"] [data-field=price]').textContent === '4.00'",
        timeout=WITHIN_MS,
    )


def test_a_double_click_on_place_order_trades_once(page, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    sign_up(page, server)
    page.goto(url(server, "/trade/?company=BOLT"))
    page.get_by_label("Quantity (shares)").fill("3")
    page.get_by_role("button", name="Place order").dblclick()
    page.locator("[data-role=receipt]").wait_for()
    team = Participant.objects.get(display_name="Rocket Squad")
    assert Transaction.objects.filter(participant=team).count() == 1
    assert team.cash == Decimal("100000.00") - Decimal("10.50")


def test_a_team_trades_on_a_phone_with_the_keyboard_alone(browser, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        sign_up(page, server)
        page.goto(url(server, "/trade/?company=ACME"))
        fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(fits), "the trade page scrolls sideways on a phone"
        page.get_by_label("Quantity (shares)").focus()
        page.keyboard.type("5")
        page.keyboard.press("Enter")  # submits the form
        page.locator("[data-role=receipt]").wait_for()
        assert "Bought 5 ACME" in page.locator("[data-role=receipt]").inner_text()
        for path in ["/market/", "/portfolio/", "/history/", "/leaderboard/", "/news/", "/settings/"]:
            page.goto(url(server, path))
            assert page.evaluate(fits), f"{path} scrolls sideways on a phone"
    finally:
        context.close()


def test_screenshots_of_every_team_page(browser, server, market, tmp_path):
    """Pictures of each page; `SAVE_SCREENSHOTS=1` refreshes docs/screenshots/."""
    api(server, market, "POST", "/api/admin/market/open")
    acme = api(server, market, "GET", "/api/admin/companies")["results"][0]
    for price in ("10.40", "10.10", "10.90", "11.30"):
        api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": price})
    shots = []
    for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            page.goto(url(server, "/"))
            shots.append(_shot(page, tmp_path, f"team-welcome{suffix}"))
            if suffix:
                page.goto(url(server, "/signin/"))
                page.get_by_label("E-mail").fill("rocket@school.test")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/market/")
            else:
                page.goto(url(server, "/signup/"))
                shots.append(_shot(page, tmp_path, "team-signup"))
                assert page.goto(url(server, "/no-such-page/")).status == 404
                shots.append(_shot(page, tmp_path, "team-not-found"))
                sign_up(page, server)
                page.goto(url(server, "/trade/?company=ACME"))
                page.get_by_label("Quantity (shares)").fill("40")
                page.get_by_role("button", name="Place order").click()
                page.locator("[data-role=receipt]").wait_for()
                api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "11.85"})
            for name, path in [
                ("market", "/market/"),
                ("trade", "/trade/?company=ACME"),
                ("portfolio", "/portfolio/"),
                ("history", "/history/"),
                ("news", "/news/"),
                ("leaderboard", "/leaderboard/"),
                ("settings", "/settings/"),
            ]:
                page.goto(url(server, path))
                live(page)
                if name == "trade":
                    page.get_by_label("Quantity (shares)").fill("25")
                shots.append(_shot(page, tmp_path, f"team-{name}{suffix}"))
        finally:
            context.close()
    assert len(shots) == 18  # 10 on a laptop, 8 on a phone


def _shot(page, folder, name: str):
    page.wait_for_timeout(300)  # charts draw on the next frame
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5000, name
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)
    return shot


def test_a_price_change_while_ordering_is_shown_and_the_old_price_is_never_filled(page, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    sign_up(page, server)
    page.goto(url(server, "/trade/?company=ACME"))
    live(page)
    page.get_by_label("Quantity (shares)").fill("10")
    total = page.locator("[data-role=summary] [data-role=total]")
    assert total.inner_text() == "100.00"

    acme = api(server, market, "GET", "/api/admin/companies")["results"][0]
    api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "15.00"})
    notice = page.locator("[data-role=price-notice]")
    notice.wait_for(timeout=WITHIN_MS)
    assert notice.locator("[data-role=price-notice-text]").inner_text() == (
        "The price of ACME is now 15.00 (you saw 10.00). An order at the old price will be refused."
    )
    assert total.inner_text() == "100.00"  # still the order the team saw

    page.get_by_role("button", name="Place order").click()
    refusal = page.locator("[data-role=refusal]")
    refusal.wait_for()
    assert refusal.inner_text().startswith("The price of ACME changed to 15.00 before your order arrived.")
    team = Participant.objects.get(display_name="Rocket Squad")
    assert not Transaction.objects.filter(participant=team).exists()

    # The refused form comes back at the new price; another change is taken with one click.
    live(page)
    page.get_by_label("Quantity (shares)").fill("10")
    assert total.inner_text() == "150.00"
    api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "16.00"})
    notice.wait_for(timeout=WITHIN_MS)
    page.get_by_role("button", name="Use the new price").click()
    assert notice.is_hidden()
    assert total.inner_text() == "160.00"
    page.get_by_role("button", name="Place order").click()
    page.locator("[data-role=receipt]").wait_for()
    assert page.locator("[data-role=receipt]").inner_text().startswith("Bought 10 ACME at 16.00.")


def test_the_chart_starts_a_new_day_at_the_bell(page, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    sign_up(page, server)
    live(page)
    chart = "() => { const c = Chart.getChart(document.getElementById('price-chart')); return c.data.labels; }"
    page.get_by_role("button", name="By day").click()
    assert page.evaluate(chart) == ["Listed", "Day 1"]

    api(server, market, "POST", "/api/admin/market/close")
    api(server, market, "POST", "/api/admin/market/open")
    page.wait_for_function(
        "() => document.querySelector('[data-role=market]').textContent === 'Day 2 · Trading open'", timeout=WITHIN_MS
    )
    assert page.evaluate(chart) == ["Listed", "Day 1", "Day 2"]
    page.get_by_role("button", name="Today").click()
    assert len(page.evaluate(chart)) == 1  # today so far: the opening price


def test_the_leaderboard_page_follows_a_rank_jump_without_duplicates(page, server, market, make_team):
    api(server, market, "POST", "/api/admin/market/open")
    climbers = [make_team(name) for name in ("Alpha", "Bravo", "Charlie")]
    sign_up(page, server)
    page.goto(url(server, "/leaderboard/"))
    live(page)
    requests = api_requests(page)
    cells = "[data-role=leaderboard-rows] tr td:nth-child(2)"
    names = f"() => [...document.querySelectorAll('{cells}')].map(c => c.textContent)"
    assert len(page.evaluate(names)) == 4

    from market.services import trade_execute

    trade_execute(participant=climbers[2], company=Company.objects.get(ticker="ACME"), side="buy", quantity=1000)
    acme = api(server, market, "GET", "/api/admin/companies")["results"][0]
    api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "30.00"})
    page.wait_for_function(
        "() => document.querySelector('[data-role=leaderboard-rows] tr td:nth-child(2)').textContent === 'Charlie'",
        timeout=6000,
    )
    shown = page.evaluate(names)
    assert len(shown) == 4 and len(set(shown)) == 4
    assert "Rocket Squad you" in shown
    assert requests == []  # the page drew the leaderboard event itself


# No request caused by an event (SPEC §5): what a page shows after an event comes with it


def api_requests(page) -> list[str]:
    """The paths of the requests the page makes to /api/ from now on (its socket is no request)."""
    seen: list[str] = []

    def note(request) -> None:
        path = urlsplit(request.url).path
        if path.startswith("/api/"):
            seen.append(path)

    page.on("request", note)
    return seen


def signed_text(amount: str) -> str:
    """How the pages show a change: an arrow, then the amount with thousands separators."""
    value = Decimal(amount)
    arrow = "▲" if value > 0 else "▼" if value < 0 else "■"
    return f"{arrow} {abs(value):,}"


def test_a_price_change_revalues_the_holding_on_the_page_without_asking_the_server(
    context, page, server, market, make_team
):
    from market.models import EventSettings
    from market.services import trade_execute

    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.0015"))
    api(server, market, "POST", "/api/admin/market/open")
    sign_up(page, server)
    team = Participant.objects.get(display_name="Rocket Squad")
    acme = Company.objects.get(ticker="ACME")
    trade_execute(participant=team, company=acme, side="buy", quantity=3)
    price_set(company=acme, price=Decimal("10.01"), by=None)
    trade_execute(participant=team, company=acme, side="buy", quantity=7)  # average cost 10.007
    rival = make_team("Zebra Crossing")  # cash only: behind the team while ACME is worth more

    page.goto(url(server, "/portfolio/"))
    live(page)
    requests = api_requests(page)
    api(server, market, "PATCH", f"/api/admin/companies/{acme.pk}", {"current_price": "10.33"})
    holding = page.locator('[data-role=holdings] tr[data-holding="ACME"]')
    page.wait_for_function(
        "() => document.querySelector('[data-role=holdings] tr[data-holding=\"ACME\"] td:nth-child(5)')"
        ".textContent === '103.30'",
        timeout=WITHIN_MS,
    )
    team_key = Token.objects.create(user=team.user).key
    truth = api(server, team_key, "GET", "/api/portfolio")  # what the server says, read by the test
    cells = holding.locator("td")
    assert cells.nth(2).inner_text() == "10.33"
    assert truth["holdings"][0]["unrealized_pl"] == "3.23"  # 103.30 − 10 × 10.007
    assert cells.nth(4).inner_text() == signed_text(truth["holdings"][0]["unrealized_pl"])
    summary = page.locator("[data-role=portfolio-summary]")
    assert summary.locator("[data-field=holdings_value]").inner_text() == "103.30"
    assert summary.locator("[data-field=total_value]").inner_text() == f"{Decimal(truth['total_value']):,}"
    assert summary.locator("[data-field=return_pct]").inner_text() == signed_text(truth["return_pct"]) + "%"
    assert page.locator("[data-role=team-value]").inner_text() == f"{Decimal(truth['total_value']):,}"
    assert page.locator("[data-role=team-rank]").inner_text() == "1"

    # ACME falls below what the team paid: the rival's cash now ranks above; the rank follows.
    api(server, market, "PATCH", f"/api/admin/companies/{acme.pk}", {"current_price": "9.00"})
    page.wait_for_function("() => document.querySelector('[data-role=team-rank]').textContent === '2'", timeout=4000)
    assert summary.locator("[data-field=rank]").inner_text() == "2"
    assert rival.portfolio_value > Participant.objects.get(pk=team.pk).portfolio_value
    assert requests == []


def test_the_history_page_shows_a_trade_made_elsewhere_without_asking(page, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    sign_up(page, server)
    page.goto(url(server, "/history/"))
    live(page)
    requests = api_requests(page)
    team = Participant.objects.get(display_name="Rocket Squad")
    key = Token.objects.create(user=team.user).key
    api(server, key, "POST", "/api/transactions", {"ticker": "BOLT", "type": "buy", "quantity": 4})
    first = page.locator("[data-role=trade-rows] tr").first
    page.wait_for_function(
        "() => document.querySelector('[data-role=trade-rows] tr td:nth-child(4)')?.textContent === 'BOLT'",
        timeout=WITHIN_MS,
    )
    assert first.locator("td").nth(4).inner_text() == "4"
    assert first.locator("td").nth(6).inner_text() == "14.00"
    assert requests == []


def test_the_leaderboard_page_keeps_every_team_when_one_leaves_the_top_ten(page, server, market, make_team):
    from market.services import trade_execute

    api(server, market, "POST", "/api/admin/market/open")
    teams = [make_team(f"Team {n:02d}") for n in range(1, 13)]
    sign_up(page, server)  # "Rocket Squad": first by name among equals, then Team 01 … Team 12
    page.goto(url(server, "/leaderboard/"))
    live(page)
    names = (
        "() => [...document.querySelectorAll('[data-role=leaderboard-rows] tr[data-rank]')].map(r => r.dataset.team)"
    )
    assert len(page.evaluate(names)) == 13

    # Team 12 buys ACME and ACME triples: Team 12 leads, and Team 09 falls out of the top ten.
    trade_execute(participant=teams[11], company=Company.objects.get(ticker="ACME"), side="buy", quantity=1000)
    acme = Company.objects.get(ticker="ACME")
    api(server, market, "PATCH", f"/api/admin/companies/{acme.pk}", {"current_price": "30.00"})
    page.wait_for_function(
        "() => document.querySelector('[data-role=leaderboard-rows] tr td:nth-child(2)').textContent === 'Team 12'",
        timeout=6000,
    )
    shown = page.evaluate(names)
    assert sorted(shown) == sorted(["Rocket Squad", *(f"Team {n:02d}" for n in range(1, 13))])  # each once
    assert shown[:10] == ["Team 12", "Rocket Squad", *(f"Team {n:02d}" for n in range(1, 9))]
    assert shown[10:] == ["Team 09", "Team 10", "Team 11"]
    fallen = page.locator('[data-role=leaderboard-rows] tr[data-team="Team 09"] td').first
    assert fallen.inner_text() == "—"  # its place at load (10) no longer holds; its place now is unknown
    assert "below" in page.locator("[data-role=leaderboard-rows] tr.divider").inner_text().lower()
