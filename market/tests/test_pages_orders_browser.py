"""Orders that wait (SPEC §4b) in a real browser against a real server: a team places a limit
order on the trade page, watches it fill when an organiser moves the price (its order desk fills
it moments after the change commits), and cancels another with its Cancel button."""

from decimal import Decimal

import pytest

from market.models import Order, Participant
from market.tests.test_pages_browser import LAPTOP, WITHIN_MS, api_requests, live, sign_up, url
from overlay.tests.servers import api

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=LAPTOP)
    errors = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert errors == [], errors


@pytest.fixture
def market(db, admin_user):
    from rest_framework.authtoken.models import Token

    from market.services import company_create

    company_create(by=None, ticker="ACME", name="Acme Robotics", current_price=Decimal("10.00"))
    company_create(by=None, ticker="BOLT", name="Bolt Energy", current_price=Decimal("3.50"))
    return Token.objects.create(user=admin_user).key


def place_limit_buy(page, ticker: str, quantity: str, price: str, *, until_cancelled: bool = False) -> str:
    page.get_by_label("Company").select_option(ticker)
    page.get_by_label("Limit", exact=True).check()
    page.get_by_label("Quantity (shares)").fill(quantity)
    page.get_by_label("Your price").fill(price)
    if until_cancelled:
        page.get_by_label("Until cancelled").check()
    page.get_by_role("button", name="Place order").click()
    receipt = page.locator("[data-role=order-receipt]")
    receipt.wait_for()
    return " ".join(receipt.inner_text().split())


def test_a_limit_order_fills_live_when_the_price_reaches_it_and_another_is_cancelled(context, server, market):
    api(server, market, "POST", "/api/admin/market/open")
    page = context.new_page()
    sign_up(page, server)
    page.goto(url(server, "/trade/?company=ACME"))
    live(page)

    # The price field shows only for limit and stop orders; the summary is figured at the team's price.
    assert page.get_by_label("Your price").is_hidden()
    page.get_by_label("Limit", exact=True).check()
    assert page.get_by_label("Your price").is_visible()
    page.get_by_label("Quantity (shares)").fill("10")
    page.get_by_label("Your price").fill("9.50")
    summary = page.locator("[data-role=summary]")
    assert summary.locator("[data-role=price-label]").inner_text() == "Your price"
    assert summary.locator("[data-role=total]").inner_text() == "95.00"
    assert summary.locator("[data-role=cash-after]").inner_text() == "99,905.00"

    assert place_limit_buy(page, "ACME", "10", "9.50") == (
        "Limit order placed: buy 10 ACME at 9.50 or less, until the end of the day. It holds 95.00 of your cash."
    )
    assert place_limit_buy(page, "BOLT", "20", "3.00", until_cancelled=True).startswith(
        "Limit order placed: buy 20 BOLT at 3.00 or less, until you cancel it."
    )
    team = Participant.objects.get(display_name="Rocket Squad")
    acme_order, bolt_order = Order.objects.filter(participant=team).order_by("created_at")
    rows = page.locator("[data-role=open-orders] tr[data-order]")
    live(page)
    assert rows.count() == 2
    assert page.locator("[data-role=team-available]").first.inner_text() == "99,845.00"

    # A second screen of the team shows its history.
    history = context.new_page()
    history.goto(url(server, "/history/"))
    live(history)

    # The organiser moves ACME to 9.40: the order fills, and both screens follow without a reload.
    requests = api_requests(page)
    acme = next(c for c in api(server, market, "GET", "/api/admin/companies")["results"] if c["ticker"] == "ACME")
    api(server, market, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "9.40"})
    page.wait_for_function(
        f"() => !document.querySelector('[data-role=open-orders] tr[data-order=\"{acme_order.id}\"]')",
        timeout=WITHIN_MS,
    )
    assert rows.count() == 1
    status = page.locator("[data-role=orders-status]")
    assert status.inner_text() == "Your limit order to buy 10 ACME at 9.50 was filled: bought at 9.40."
    assert page.locator("[data-role=team-cash]").first.inner_text() == "99,906.00"
    assert page.locator("[data-role=team-available]").first.inner_text() == "99,846.00"
    page.get_by_label("Company").select_option("ACME")
    assert page.locator("[data-role=held]").inner_text() == "10"
    tag = history.locator("[data-role=trade-rows] tr").first.locator(".order-tag")
    tag.wait_for(timeout=WITHIN_MS)
    history.wait_for_function(
        "() => document.querySelector('[data-role=trade-rows] .order-tag').textContent === 'limit order'",
        timeout=WITHIN_MS,
    )
    assert requests == []  # the events carried it all
    acme_order.refresh_from_db()
    assert acme_order.status == "filled"

    # The other one is cancelled with its button, from the keyboard.
    page.get_by_role("button", name="Cancel the limit order to buy 20 BOLT at 3.00").focus()
    page.keyboard.press("Enter")
    receipt = page.locator("[data-role=order-receipt]")
    receipt.wait_for()
    assert receipt.inner_text() == "Order cancelled: limit buy of 20 BOLT at 3.00. What it held is free again."
    assert rows.count() == 0
    assert "No open orders" in page.locator("[data-role=open-orders]").inner_text()
    bolt_order.refresh_from_db()
    team.refresh_from_db()
    assert (bolt_order.status, team.reserved_cash) == ("cancelled", Decimal("0.00"))
    assert page.locator("[data-role=team-available-item]").is_hidden()
