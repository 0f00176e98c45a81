"""The trade page: an order form drawn once per visit, a receipt, and refusals in words."""

import html
import re
import uuid
from decimal import Decimal

import pytest

from market import services
from market.models import Holding, Transaction
from market.tests.helpers import state

pytestmark = pytest.mark.django_db


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def form_key(response) -> str:
    found = re.search(r'<input type="hidden" name="key" value="([^"]*)">', main(response))
    assert found, "no order key in the form"
    return found.group(1)


def role(response, name: str) -> str:
    """The words in the element marked data-role=`name`, or "" when the page has none."""
    found = re.search(rf'<(\w+) [^>]*data-role="{name}"[^>]*>(.*?)</\1>', main(response), re.S)
    return text(found.group(2)) if found else ""


def field_errors(response, field: str) -> str:
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', main(response), re.S)
    return text(found.group(1)) if found else ""


@pytest.fixture
def team_client(client, team):
    client.force_login(team.user)
    return client


@pytest.fixture
def fees(event_settings):
    event_settings.buy_fee_rate = Decimal("0.0015")
    event_settings.sell_fee_rate = Decimal("0.0025")
    event_settings.save()
    return event_settings


def place(client, side: str = "buy", ticker: str = "ACME", quantity="10", **fields):
    """Draw the form like a browser, then submit it: (response, the form's key)."""
    drawn = client.get("/trade/", {"company": ticker})
    body = {
        "key": form_key(drawn),
        "type": side,
        "ticker": ticker,
        "quantity": str(quantity),
        "expected_price": re.search(r'name="expected_price" value="([^"]*)"', main(drawn)).group(1),
        "expected_for": re.search(r'name="expected_for" value="([^"]*)"', main(drawn)).group(1),
        **fields,
    }
    return client.post("/trade/", body), body


# The form


def test_each_drawing_of_the_form_has_its_own_key(team_client, company):
    first, second = team_client.get("/trade/"), team_client.get("/trade/")

    assert first.status_code == second.status_code == 200
    assert form_key(first) != form_key(second)


def test_the_form_shows_the_lot_size_and_the_fee_rates(team_client, company, fees):
    fees.lot_size = 100
    fees.save()

    page = main(team_client.get("/trade/"))

    assert re.search(r'<input type="number" name="quantity"[^>]* min="100" step="100"', page)
    assert "In lots of 100 shares." in text(page)
    assert "a fee of 0.15%" in text(page)
    assert "minus 0.25%" in text(page)


def test_the_page_is_never_cached(team_client, company, open_market):
    drawn = team_client.get("/trade/")
    posted, _ = place(team_client)

    assert "no-store" in drawn["Cache-Control"]
    assert "no-store" in posted["Cache-Control"]


# A trade


def test_a_buy_redirects_to_a_receipt_and_takes_the_cash(team_client, team, company, open_market, fees):
    response, _ = place(team_client, quantity=10)

    trade = Transaction.objects.get(participant=team)
    assert response.status_code == 302
    assert response["Location"] == f"/trade/?company=ACME&side=buy&done={trade.id}"
    receipt = role(team_client.get(response["Location"]), "receipt")
    assert receipt.startswith("Bought 10 ACME at 10.00.")
    assert "Total 100.00, fee 0.15." in receipt
    team.refresh_from_db()
    assert team.cash == Decimal("99899.85")
    assert Holding.objects.get(participant=team, company=company).quantity == 10


def test_a_sell_shows_its_receipt(team_client, team, company, open_market, fees):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)

    response, _ = place(team_client, side="sell", quantity=4)

    receipt = role(team_client.get(response["Location"]), "receipt")
    assert receipt.startswith("Sold 4 ACME at 10.00.")
    assert "Total 40.00, fee 0.10." in receipt
    assert Holding.objects.get(participant=team, company=company).quantity == 6


def test_a_double_click_trades_once(team_client, team, company, open_market):
    first, body = place(team_client, quantity=10)

    second = team_client.post("/trade/", body)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Transaction.objects.filter(participant=team).count() == 1
    team.refresh_from_db()
    assert team.cash == Decimal("99900.00")


def test_the_same_form_cannot_place_a_different_order(team_client, team, company, open_market):
    _, body = place(team_client, quantity=10)

    response = team_client.post("/trade/", {**body, "quantity": "20"})

    assert response.status_code == 409
    assert role(response, "refusal").startswith("This order form was already used for another order.")
    assert Transaction.objects.filter(participant=team).count() == 1
    team.refresh_from_db()
    assert team.cash == Decimal("99900.00")


def test_an_order_without_its_form_key_is_refused(team_client, team, company, open_market):
    before = state(team)

    response = team_client.post("/trade/", {"type": "buy", "ticker": "ACME", "quantity": "10"})

    assert response.status_code == 400
    assert "The order form was incomplete" in role(response, "refusal")
    assert state(team) == before


# Refusals


def test_an_order_while_the_market_is_closed_is_refused(team_client, team, company):
    before = state(team)

    response, _ = place(team_client)

    assert response.status_code == 409
    refusal = "Market is closed. Your order was not placed; place it again after the opening bell."
    assert role(response, "refusal") == refusal
    assert state(team) == before


def test_overspending_is_refused_with_the_amounts(team_client, team, company, open_market, fees):
    before = state(team)

    response, _ = place(team_client, quantity=10000)  # 100,000.00 + a fee of 150.00

    assert response.status_code == 409
    assert role(response, "refusal") == "Not enough cash: you have 100,000.00 and need 100,150.00."
    assert state(team) == before


def test_overspending_is_refused_in_the_event_currency(team_client, team, company, open_market, settings):
    settings.EVENT_CURRENCY = "IDR"

    response, _ = place(team_client, quantity=12345)

    assert response.status_code == 409
    assert role(response, "refusal") == "Not enough cash: you have IDR 100,000.00 and need IDR 123,450.00."


def test_selling_more_than_held_is_refused_even_when_another_team_holds_them(
    team_client, team, other_team, company, open_market
):
    services.trade_execute(participant=other_team, company=company, side="buy", quantity=50)
    before = state(team)

    response, _ = place(team_client, side="sell", quantity=5)

    assert response.status_code == 409
    assert role(response, "refusal") == "Not enough shares: you have 0 ACME and tried to sell 5."
    assert state(team) == before
    assert Holding.objects.get(participant=other_team).quantity == 50


def test_an_order_at_a_price_that_changed_since_the_form_was_drawn_is_refused(team_client, team, company, open_market):
    drawn = team_client.get("/trade/")
    services.price_set(company=company, price=Decimal("12.40"), by=None)
    before = state(team)
    body = {"key": form_key(drawn), "type": "buy", "ticker": "ACME", "quantity": "10"}
    body.update(expected_price="10.00", expected_for="ACME")

    response = team_client.post("/trade/", body)

    assert response.status_code == 409
    assert role(response, "refusal").startswith("The price of ACME changed to 12.40 before your order arrived.")
    assert state(team) == before


def test_a_frozen_team_cannot_trade(team_client, team, company, open_market):
    services.participant_freeze(participant=team, by=None)
    before = state(team)

    response, _ = place(team_client)

    assert response.status_code == 409
    assert role(response, "refusal").startswith("Your team is frozen by the organisers")
    assert state(team) == before


def test_a_suspended_company_cannot_be_traded(team_client, team, company, open_market):
    drawn = team_client.get("/trade/")
    services.company_update(company=company, by=None, is_active=False)
    before = state(team)
    body = {"key": form_key(drawn), "type": "buy", "ticker": "ACME", "quantity": "10"}
    body.update(expected_price="10.00", expected_for="ACME")

    response = team_client.post("/trade/", body)

    assert response.status_code == 409
    assert role(response, "refusal") == "ACME cannot be traded right now."
    assert state(team) == before


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("quantity", "abc", "A whole number is required."),
        ("quantity", "0", "Buy or sell at least 1 share."),
        ("ticker", "NOPE", "No company has this ticker."),
    ],
)
def test_invalid_fields_are_shown_beside_the_field(team_client, team, company, open_market, field, value, message):
    before = state(team)

    response, _ = place(team_client, **{field: value})

    assert response.status_code == 400
    assert field_errors(response, field) == message
    assert role(response, "refusal") == ""
    assert state(team) == before


def test_a_quantity_outside_the_lot_size_is_shown_beside_the_quantity(
    team_client, team, company, open_market, event_settings
):
    event_settings.lot_size = 100
    event_settings.save()
    before = state(team)

    response, _ = place(team_client, quantity="150")

    assert response.status_code == 400
    assert "100" in field_errors(response, "quantity")
    assert state(team) == before


# The receipt belongs to its team


def test_another_teams_trade_shows_no_receipt(team_client, other_team, company, open_market):
    theirs = services.trade_execute(participant=other_team, company=company, side="buy", quantity=77).transaction

    response = team_client.get("/trade/", {"done": str(theirs.id)})

    assert response.status_code == 200
    assert role(response, "receipt") == ""
    assert "Bought 77" not in main(response)


@pytest.mark.parametrize("done", ["not-a-uuid", "123", "' OR 1=1 --", str(uuid.uuid4())])
def test_a_done_that_is_no_trade_of_ours_is_ignored(team_client, company, open_market, done):
    response = team_client.get("/trade/", {"done": done})

    assert response.status_code == 200
    assert role(response, "receipt") == ""
    assert form_key(response)


def test_an_anonymous_visitor_is_sent_to_sign_in(client, company, open_market):
    response = client.post("/trade/", {"type": "buy", "ticker": "ACME", "quantity": "10", "key": "k"})

    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/trade/"
    assert not Transaction.objects.exists()


def test_an_organiser_gets_the_page_for_teams(client, admin_user, company, open_market):
    client.force_login(admin_user)

    response = client.get("/trade/")

    assert response.status_code == 403
    assert "This page is for teams" in main(response)


def test_picking_another_company_without_the_script_is_not_refused_as_a_price_change(
    team_client, team, company, make_company, open_market
):
    # The form was drawn for ACME (10.00); without the page's script the hidden price stays
    # ACME's when the team picks BETA in the list.
    make_company("BETA", "20.00")
    drawn = team_client.get("/trade/", {"company": "ACME"})
    body = {"key": form_key(drawn), "type": "buy", "ticker": "BETA", "quantity": "2", "expected_price": "10.00"}
    body["expected_for"] = "ACME"

    response = team_client.post("/trade/", body)

    assert response.status_code == 302
    assert Holding.objects.get(participant=team, company__ticker="BETA").quantity == 2
