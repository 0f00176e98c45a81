"""Orders that wait (SPEC §4b) on the team pages: placed and cancelled on the trade page (which
lists the open ones), the cash and shares they hold on every page, their trades marked in the
history."""

import re
from decimal import Decimal

import pytest

from market import services
from market.models import Order, Transaction
from market.tests.helpers import state
from market.tests.test_pages_trade import field_errors, form_key, main, role, text

pytestmark = pytest.mark.django_db


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


def place(client, kind: str = "limit", side: str = "buy", price="9.50", quantity="10", **fields):
    """Draw the form like a browser, choose the order's kind and price, submit: (response, body)."""
    drawn = client.get("/trade/", {"company": "ACME"})
    body = {
        "key": form_key(drawn),
        "type": side,
        "ticker": "ACME",
        "kind": kind,
        "quantity": str(quantity),
        "price": str(price),
        "expires": "day",
        "expected_price": "10.00",
        "expected_for": "ACME",
        **fields,
    }
    return client.post("/trade/", body), body


def rest(team, side="buy", kind="limit", price="9.50", quantity=10, **fields) -> Order:
    data = {"ticker": "ACME", "type": side, "kind": kind, "price": price, "quantity": quantity, **fields}
    return services.book_place(participant=team, data=data).order


def open_rows(response) -> list[list[str]]:
    """The open orders table as a wide screen shows it: each row's cells as words (a phone shows
    the duration and what the order holds under the order instead)."""
    body = re.search(r'<tbody data-role="open-orders">(.*?)</tbody>', main(response), re.S).group(1)
    body = re.sub(r'<span class="narrow-only[^"]*">.*?</span>', "", body, flags=re.S)
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


# The form


def test_the_form_offers_market_limit_and_stop_each_with_one_line_saying_what_it_does(team_client, company):
    page = main(team_client.get("/trade/"))

    kinds = re.findall(r'<input type="radio" name="kind" value="(\w+)"[^>]*>\s*(\w+)</label>', page)
    assert kinds == [("market", "Market"), ("limit", "Limit"), ("stop", "Stop")]
    assert re.search(r'<input type="radio" name="kind" value="market"[^>]* checked>', page)
    assert "Market: now, at the current price." in text(page)
    assert "Limit: buys at or below your price, sells at or above it." in text(page)
    assert "Stop: buys once the price rises to yours, sells once it falls to yours (a stop-loss)." in text(page)
    assert '<label for="id_price">Your price</label>' in page
    expires = re.findall(r'<input type="radio" name="expires" value="(\w+)"[^>]*>\s*([\w ]+)</label>', page)
    assert expires == [("day", "End of the day"), ("cancel", "Until cancelled")]


def test_the_form_can_start_on_a_limit_order(team_client, company):
    page = main(team_client.get("/trade/", {"kind": "limit"}))

    assert re.search(r'<input type="radio" name="kind" value="limit"[^>]* checked>', page)


# Placing


def test_a_limit_buy_waits_holding_its_cost_at_its_price_and_is_listed(team_client, team, company, open_market, fees):
    response, _ = place(team_client, price="9.50", quantity=10)

    order = Order.objects.get(participant=team)
    assert response.status_code == 302
    assert response["Location"] == f"/trade/?company=ACME&side=buy&kind=limit&order={order.id}"
    page = team_client.get(response["Location"])
    assert role(page, "order-receipt") == (
        "Limit order placed: buy 10 ACME at 9.50 or less, until the end of the day. It holds 95.14 of your cash."
    )
    assert (order.status, order.kind, order.price, order.reserved) == (
        "open",
        "limit",
        Decimal("9.50"),
        Decimal("95.14"),
    )
    team.refresh_from_db()
    assert (team.cash, team.reserved_cash) == (Decimal("100000.00"), Decimal("95.14"))
    assert not Transaction.objects.filter(participant=team).exists()
    assert [row[:6] for row in open_rows(page)] == [["ACME", "Buy limit", "10", "9.50", "End of the day", "95.14"]]
    assert re.search(rf'<form method="post" action="/trade/orders/{order.id}/cancel/"', main(page))
    # The next order is a limit order too, with the cash that is free.
    assert re.search(r'<input type="radio" name="kind" value="limit"[^>]* checked>', main(page))
    assert 'data-cash="99904.86"' in main(page)


def test_a_stop_sell_until_cancelled_holds_its_shares(team_client, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)

    response, _ = place(team_client, kind="stop", side="sell", price="8.00", quantity=4, expires="cancel")

    page = team_client.get(response["Location"])
    assert role(page, "order-receipt") == (
        "Stop order placed: sell 4 ACME once the price falls to 8.00, until you cancel it. "
        "It holds 4 of your ACME shares."
    )
    order = Order.objects.get(participant=team)
    assert (order.kind, order.type, order.expires, order.status) == ("stop", "sell", "cancel", "open")
    assert [row[:6] for row in open_rows(page)] == [["ACME", "Sell stop", "4", "8.00", "Until cancelled", "4 shares"]]
    assert "You hold 10 ACME, 4 of them held by your open orders." in text(main(page))


def test_a_limit_order_whose_price_is_already_reached_fills_at_once(team_client, team, company, open_market, fees):
    response, _ = place(team_client, price="12.00", quantity=10)

    order = Order.objects.get(participant=team)
    page = team_client.get(response["Location"])
    assert order.status == "filled"
    assert role(page, "order-receipt") == (
        "Your limit order was filled: bought 10 ACME at 10.00. Total 100.00, fee 0.15. See your history."
    )
    assert order.transaction.price == Decimal("10.00")
    team.refresh_from_db()
    assert (team.cash, team.reserved_cash) == (Decimal("99899.85"), Decimal("0.00"))
    assert open_rows(page) == [["No open orders. Limit and stop orders wait here until they fill."]]


def test_an_order_placed_while_the_market_is_closed_waits_for_the_bell(team_client, team, company):
    response, _ = place(team_client, price="9.00", quantity=5)

    assert response.status_code == 302
    receipt = role(team_client.get(response["Location"]), "order-receipt")
    assert receipt.endswith("It holds 45.00 of your cash. It waits for the opening bell.")
    assert Order.objects.get(participant=team).status == "open"


def test_a_double_submit_places_the_order_once(team_client, team, company, open_market):
    first, body = place(team_client)

    second = team_client.post("/trade/", body)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Order.objects.filter(participant=team).count() == 1
    team.refresh_from_db()
    assert team.reserved_cash == Decimal("95.00")


def test_a_market_order_still_trades_at_once(team_client, team, company, open_market):
    response, _ = place(team_client, kind="market", price="", quantity=3)

    trade = Transaction.objects.get(participant=team)
    assert response["Location"] == f"/trade/?company=ACME&side=buy&done={trade.id}"
    assert not Order.objects.exists()


# Refusals


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"price": ""}, "price", "Enter your price: the order waits until the market reaches it."),
        ({"price": "abc"}, "price", "A valid number is required."),
        ({"price": "0"}, "price", "Ensure this value is greater than or equal to 0.01."),
        ({"kind": "someday"}, "kind", '"someday" is not a valid choice.'),
    ],
)
def test_a_bad_price_or_kind_is_shown_beside_its_field(team_client, team, company, open_market, fields, field, message):
    before = state(team)

    response, _ = place(team_client, **fields)

    assert response.status_code == 400
    assert field_errors(response, field) == message
    assert role(response, "refusal") == ""
    assert state(team) == before
    assert not Order.objects.exists()


def test_a_limit_buy_beyond_the_free_cash_is_refused_with_the_amounts(team_client, team, company, open_market, fees):
    rest(team, price="5.00", quantity=1000)  # holds 5,007.50

    response, _ = place(team_client, price="10.00", quantity=9500)  # needs 95,142.50

    assert response.status_code == 409
    assert role(response, "refusal") == "Not enough cash: this order needs 95,142.50 and you have 94,992.50 free."
    assert Order.objects.filter(participant=team).count() == 1


def test_a_market_buy_short_of_free_cash_says_what_the_orders_hold(team_client, team, company, open_market):
    rest(team, price="5.00", quantity=19000)  # holds 95,000.00

    response, _ = place(team_client, kind="market", quantity=600)

    assert response.status_code == 409
    assert role(response, "refusal") == (
        "Not enough cash: you have 5,000.00 free (95,000.00 more is held by your open orders) and need 6,000.00."
    )


def test_a_sell_order_of_shares_not_free_is_refused(team_client, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    rest(team, side="sell", price="12.00", quantity=4)

    waiting, _ = place(team_client, side="sell", price="11.00", quantity=7)
    now, _ = place(team_client, kind="market", side="sell", quantity=7)

    assert waiting.status_code == now.status_code == 409
    assert role(waiting, "refusal") == "Not enough shares: you have 6 ACME free to sell and the order needs 7."
    assert role(now, "refusal") == (
        "Not enough shares: you have 6 ACME free (4 more held by your open orders) and tried to sell 7."
    )


def test_too_many_open_orders_are_refused(team_client, team, company, open_market, event_settings):
    event_settings.max_open_orders = 2
    event_settings.save()
    rest(team, price="9.00", quantity=1)
    rest(team, price="8.00", quantity=1)

    response, _ = place(team_client, price="7.00", quantity=1)

    assert response.status_code == 409
    assert role(response, "refusal") == "Your team already has 2 open orders, the most allowed; cancel one first."
    assert Order.objects.filter(participant=team).count() == 2


def test_a_frozen_team_cannot_place_an_order(team_client, team, company, open_market):
    services.participant_freeze(participant=team, by=None)

    response, _ = place(team_client)

    assert response.status_code == 409
    assert role(response, "refusal").startswith("Your team is frozen by the organisers")
    assert not Order.objects.exists()


# Cancelling


def test_the_cancel_button_ends_the_order_and_frees_its_cash(team_client, team, company, open_market, fees):
    order = rest(team, price="9.50", quantity=10)

    response = team_client.post(f"/trade/orders/{order.id}/cancel/")

    assert response.status_code == 302
    assert response["Location"] == f"/trade/?company=ACME&side=buy&kind=limit&order={order.id}"
    page = team_client.get(response["Location"])
    assert role(page, "order-receipt") == ("Order cancelled: limit buy of 10 ACME at 9.50. What it held is free again.")
    order.refresh_from_db()
    team.refresh_from_db()
    assert (order.status, order.reserved, team.reserved_cash) == ("cancelled", Decimal("0.00"), Decimal("0.00"))
    assert open_rows(page) == [["No open orders. Limit and stop orders wait here until they fill."]]


def test_cancelling_an_order_that_filled_meanwhile_says_so(team_client, team, company, open_market):
    order = rest(team, price="9.50", quantity=10)
    services.price_set(company=company, price=Decimal("9.40"), by=None)
    services.book_fill_due()

    response = team_client.post(f"/trade/orders/{order.id}/cancel/")

    assert response.status_code == 409
    assert role(response, "refusal") == (
        "This order was already filled, so there is nothing to cancel: see the trade in your history."
    )
    assert form_key(response)
    assert re.search(r'<form method="post" action="/trade/" id="trade-form"', main(response))


def test_a_team_cannot_cancel_or_see_another_teams_order(team_client, team, other_team, company, open_market):
    theirs = rest(other_team, price="9.00", quantity=7)

    cancel = team_client.post(f"/trade/orders/{theirs.id}/cancel/")
    page = team_client.get("/trade/", {"order": str(theirs.id)})

    assert cancel.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open"
    assert role(page, "order-receipt") == ""
    assert open_rows(page) == [["No open orders. Limit and stop orders wait here until they fill."]]


def test_cancelling_takes_a_post(team_client, team, company, open_market):
    order = rest(team)

    assert team_client.get(f"/trade/orders/{order.id}/cancel/").status_code == 405
    order.refresh_from_db()
    assert order.status == "open"


# The open orders list


def test_open_orders_are_listed_oldest_first_without_those_that_ended(team_client, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    first = rest(team, price="9.00", quantity=2)
    ended = rest(team, price="8.00", quantity=3)
    rest(team, side="sell", kind="stop", price="7.50", quantity=5, expires="cancel")
    services.book_cancel(order=ended, participant=team)

    rows = open_rows(team_client.get("/trade/"))

    assert [row[:6] for row in rows] == [
        ["ACME", "Buy limit", "2", "9.00", "End of the day", "18.00"],
        ["ACME", "Sell stop", "5", "7.50", "Until cancelled", "5 shares"],
    ]
    assert all(row[6].startswith("Cancel the ") for row in rows)
    narrow = re.findall(r'<span class="narrow-only held-note">(.*?)</span>', main(team_client.get("/trade/")))
    assert narrow == ["2 at 9.00 · End of the day · holds 18.00", "5 at 7.50 · Until cancelled · holds 5 shares"]
    assert rows[0][6] == "Cancel the limit order to buy 2 ACME at 9.00"
    assert first.status == "open"


# Cash and shares held, on the other pages


def test_the_portfolio_shows_free_and_held_cash_and_shares_held_by_orders(team_client, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    rest(team, price="9.00", quantity=100)
    rest(team, side="sell", price="12.00", quantity=4)

    page = main(team_client.get("/portfolio/"))

    note = re.search(r'<dd class="held-note" data-role="cash-held-note">(.*?)</dd>', page, re.S)
    assert note, "no note of the cash held"
    assert text(note.group(1)) == "99,000.00 free, 900.00 held by open orders"
    assert re.search(r'<td class="num">10<span class="held-note">4 held by orders</span></td>', page)


def test_without_orders_no_cash_is_said_to_be_held(team_client, team, company, open_market):
    page = team_client.get("/portfolio/").content.decode()

    assert '<dd class="held-note" data-role="cash-held-note" hidden>' in page
    assert '<div data-role="team-available-item" hidden>' in page
    assert "held by orders" not in page


def test_the_header_shows_the_free_cash_on_every_team_page(team_client, team, company, open_market):
    rest(team, price="9.00", quantity=100)

    for path in ("/market/", "/trade/", "/history/"):
        page = team_client.get(path).content.decode()
        assert re.search(r'data-role="team-cash">100,000.00</dd>', page), path
        assert '<div data-role="team-available-item">' in page, path
        assert re.search(r'data-role="team-available"[^>]*>99,100.00</dd>', page), path


def test_the_history_marks_the_trades_that_came_from_an_order(team_client, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    order = rest(team, price="12.00", quantity=2)  # fills at once
    stop = rest(team, kind="stop", price="10.50", quantity=3)
    services.price_set(company=company, price=Decimal("10.60"), by=None)
    services.book_fill_due()

    page = main(team_client.get("/history/"))

    rows = re.findall(r'<tr data-trade="[^"]*"[^>]*>(.*?)</tr>', page, re.S)
    assert [text(re.findall(r"<td>(.*?)</td>", row, re.S)[2]) for row in rows] == [
        "Buy stop order",
        "Buy limit order",
        "Buy",
    ]
    assert f'data-order="{order.id}"' in page
    assert f'data-order="{stop.id}"' in page
