"""The overlay in a real browser (headless Chromium) against a real server, as OBS would show it."""

import os
import shutil
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market.services import company_create, price_set
from newsroom.services import news_create
from overlay.tests.servers import ROOT, TOKEN, api, start_server, stop_server

# Committed data, so the server process sees it; once, on SQLite: the page is the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
WITHIN_MS = 2000


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def market(db, admin_user, make_team):
    company_create(by=None, ticker="ACME", name="Acme", current_price=Decimal("10.00"))
    company_create(by=None, ticker="BOLT", name="Bolt", current_price=Decimal("3.50"))
    for name in ("Bull Riders", "Bear Necessities", "Blue Chips"):
        make_team(name, school="SMA 1")
    news_create(by=None, title="Welcome to the market", content="x", published_at=timezone.now())
    return Token.objects.create(user=admin_user).key


def price_shown(page, ticker: str):
    return page.locator(f'#ticker .quote[data-ticker="{ticker}"] .price').first


def test_the_scene_shows_the_bell_and_a_new_price_within_two_seconds(page, server, market):
    from market.models import TradingDay

    TradingDay.objects.create(number=1, scheduled_close_at=timezone.now() + timezone.timedelta(hours=1))
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token={TOKEN}")
    price_shown(page, "ACME").wait_for()
    assert price_shown(page, "ACME").inner_text() == "10.00"
    assert page.locator("#leaderboard li").count() == 3
    assert page.locator("#news [data-role=headline]").inner_text() == "Welcome to the market"

    api(server, market, "POST", "/api/admin/market/open")
    banner = page.locator("#bell [data-role=banner]")
    banner.wait_for(state="visible", timeout=WITHIN_MS)
    assert banner.inner_text() == "Day 1 — trading open"
    assert page.locator("#status [data-role=market]").inner_text() == "Day 1 · Trading open"
    assert page.locator("#status [data-role=countdown]").inner_text().startswith("closes in 59:")

    company = api(server, market, "GET", "/api/admin/companies")["results"][0]
    api(server, market, "PATCH", f"/api/admin/companies/{company['id']}", {"current_price": "12.34"})
    page.wait_for_function(
        "() => document.querySelector('#ticker .quote[data-ticker=\"ACME\"] .price').textContent === '12.34'",
        timeout=WITHIN_MS,
    )
    assert "up" in page.locator('#ticker .quote[data-ticker="ACME"]').first.get_attribute("class")


def test_a_news_release_slides_in(page, server, market):
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/news?token={TOKEN}")
    page.locator("#news [data-role=headline]").wait_for()
    api(server, market, "POST", "/api/admin/news", {"title": "Rates cut", "content": "x", "published_at": None})
    item = api(server, market, "GET", "/api/admin/news")["results"][0]
    api(server, market, "PATCH", f"/api/admin/news/{item['id']}", {"published_at": "2026-01-02T00:00:00Z"})
    page.wait_for_function(
        "() => document.querySelector('#news [data-role=headline]').textContent === 'Rates cut'", timeout=WITHIN_MS
    )


def test_the_page_is_transparent_without_scrollbars_or_controls(page, server, market):
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token={TOKEN}")
    price_shown(page, "ACME").wait_for()
    look = page.evaluate(
        """() => ({
            html: getComputedStyle(document.documentElement).backgroundColor,
            body: getComputedStyle(document.body).backgroundColor,
            overflow: getComputedStyle(document.body).overflow,
            cursor: getComputedStyle(document.body).cursor,
            scrollsX: document.documentElement.scrollWidth > window.innerWidth,
            scrollsY: document.documentElement.scrollHeight > window.innerHeight,
            controls: document.querySelectorAll("button, input, select, textarea, a[href]").length,
        })"""
    )
    assert look == {
        "html": "rgba(0, 0, 0, 0)",
        "body": "rgba(0, 0, 0, 0)",
        "overflow": "hidden",
        "cursor": "none",
        "scrollsX": False,
        "scrollsY": False,
        "controls": 0,
    }


def test_the_page_reconnects_after_a_server_restart_and_shows_the_current_state(page, server, market):
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token={TOKEN}")
    price_shown(page, "ACME").wait_for()
    assert page.locator("#offline").is_hidden()

    stop_server(server["process"])
    page.locator("#offline").wait_for(state="visible", timeout=5000)
    from market.models import Company

    price_set(company=Company.objects.get(ticker="ACME"), price=Decimal("15.00"), by=None)  # while it was down
    server["process"] = start_server(server["port"])

    page.locator("#offline").wait_for(state="hidden", timeout=20000)
    page.wait_for_function(
        "() => document.querySelector('#ticker .quote[data-ticker=\"ACME\"] .price').textContent === '15.00'",
        timeout=WITHIN_MS,
    )


def test_a_wrong_token_shows_nothing_of_the_market(page, server, market):
    response = page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token=wrong")
    assert response.status == 403
    assert "ACME" not in page.content()


def test_screenshots_of_every_overlay_page(page, server, market, tmp_path):
    """Pictures of what the stream shows; `SAVE_SCREENSHOTS=1` refreshes docs/screenshots/."""
    api(server, market, "POST", "/api/admin/market/open")
    pages = {"scene": "", "ticker": "ticker", "leaderboard": "leaderboard", "news": "news", "bell": "bell"}
    for name, path in pages.items():
        page.goto(f"http://127.0.0.1:{server['port']}/overlay/{path}?token={TOKEN}&sound=0")
        page.wait_for_function("() => document.body.dataset.online === '1'")
        if name == "bell":  # the last page: the closing bell
            api(server, market, "POST", "/api/admin/market/close")
            page.locator("#bell [data-role=banner]").wait_for(state="visible", timeout=WITHIN_MS)
            assert page.locator("#bell [data-role=banner]").inner_text() == "Day 1 — trading closed"
        shot = tmp_path / f"overlay-{name}.png"
        page.screenshot(path=str(shot), omit_background=True)
        assert shot.stat().st_size > 1000
        if os.environ.get("SAVE_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, SHOTS / shot.name)
