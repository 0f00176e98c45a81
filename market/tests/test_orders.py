"""Orders that wait (SPEC §4b), placed and cancelled through the API: the rules at the boundary
prices, what an open order holds, and every refusal with its code."""

from decimal import Decimal

import pytest

from market import services
from market.models import AuditEntry, EventSettings, Holding, Order
from market.services.book import condition_holds, reservation
from market.tests.helpers import assert_books, assert_problem, buy, place, sell, state

pytestmark = pytest.mark.django_db

TEN = Decimal("10.00")


@pytest.mark.parametrize(
    ("side", "kind", "limit", "fills_at", "waits_at"),
    [
        ("buy", "limit", "10.00", ["10.00", "9.99"], ["10.01"]),
        ("sell", "limit", "10.00", ["10.00", "10.01"], ["9.99"]),
        ("buy", "stop", "10.00", ["10.00", "10.01"], ["9.99"]),
        ("sell", "stop", "10.00", ["10.00", "9.99"], ["10.01"]),
    ],
)
def test_each_kind_and_side_fills_from_its_price_on_and_waits_a_cent_short(side, kind, limit, fills_at, waits_at):
    for price in fills_at:
        assert condition_holds(side=side, kind=kind, limit=Decimal(limit), price=Decimal(price))
    for price in waits_at:
        assert not condition_holds(side=side, kind=kind, limit=Decimal(limit), price=Decimal(price))


def test_a_buy_holds_its_cost_at_its_own_price_with_the_fee_and_a_sell_no_cash():
    assert reservation(side="buy", quantity=3, price=Decimal("9.99"), buy_fee_rate=Decimal("0.0015")) == Decimal(
        "30.01"
    )  # 29.97 + 0.045 rounded half-up
    assert reservation(side="sell", quantity=3, price=Decimal("9.99"), buy_fee_rate=Decimal("0.0015")) == 0


def test_a_limit_buy_below_the_price_rests_and_holds_its_cash(team, team_api, company, open_market):
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.001"))
    response = place(team_api, "buy", "limit", "9.00", quantity=100)

    assert response.status_code == 201, response.content
    order, portfolio = response.json()["order"], response.json()["portfolio"]
    assert order["status"] == "open"
    assert (order["ticker"], order["type"], order["kind"], order["quantity"], order["price"]) == (
        "ACME",
        "buy",
        "limit",
        100,
        "9.00",
    )
    assert order["expires"] == "day" and order["transaction"] is None and order["filled_at"] is None
    assert order["reserved"] == "900.90"
    assert portfolio["cash"] == "100000.00"
    assert portfolio["reserved_cash"] == "900.90"
    assert portfolio["available_cash"] == "99099.10"
    assert team_api.get("/api/portfolio").json()["available_cash"] == "99099.10"
    assert_books(team)


def test_an_order_already_due_fills_at_once_at_the_current_price(team, team_api, company, open_market):
    response = place(team_api, "buy", "limit", "12.00", quantity=5)

    assert response.status_code == 201, response.content
    order = response.json()["order"]
    assert order["status"] == "filled" and order["reserved"] == "0.00"
    trade = team_api.get("/api/transactions").json()["results"][0]
    assert trade["id"] == order["transaction"]
    assert trade["price"] == "10.00"  # the current price, never the order's
    assert trade["order"] == order["id"]
    assert response.json()["portfolio"]["cash"] == "99950.00"
    assert_books(team)


def test_while_the_market_is_closed_an_order_due_rests_until_the_start_bell(
    team, team_api, company, django_capture_on_commit_callbacks
):
    response = place(team_api, "buy", "limit", "12.00", quantity=5)
    assert response.json()["order"]["status"] == "open"

    with django_capture_on_commit_callbacks(execute=True):
        services.market_open(by=None)

    filled = Order.objects.get(pk=response.json()["order"]["id"])
    assert filled.status == "filled" and filled.transaction.price == TEN
    assert_books(team)


def test_market_trades_and_new_orders_use_only_what_is_free(team, team_api, company, open_market):
    EventSettings.objects.filter(pk=1).update(starting_cash=Decimal("1000.00"))
    team.cash = team.starting_cash = team.portfolio_value = Decimal("1000.00")
    team.save()
    assert place(team_api, "buy", "limit", "9.00", quantity=100).status_code == 201  # holds 900.00
    before = state(team)

    refused = assert_problem(buy(team_api, quantity=11), 409, "insufficient_funds")  # 110 > 100 free
    assert refused["cash"] == "100.00"
    assert "held by your open orders" in refused["detail"]
    assert_problem(place(team_api, "buy", "limit", "9.00", quantity=12), 409, "insufficient_funds")
    assert state(team) == before
    assert buy(team_api, quantity=10).status_code == 201  # exactly what is free
    assert_books(team)


def test_a_sell_order_holds_its_shares_from_market_sales_and_other_orders(team, team_api, company, open_market):
    assert buy(team_api, quantity=10).status_code == 201
    response = place(team_api, "sell", "limit", "12.00", quantity=7)

    assert response.json()["order"]["status"] == "open"
    [holding] = response.json()["portfolio"]["holdings"]
    assert (holding["quantity"], holding["reserved_quantity"]) == (10, 7)
    body = assert_problem(sell(team_api, quantity=4), 409, "insufficient_shares")
    assert body["held"] == 3
    assert_problem(place(team_api, "sell", "stop", "8.00", quantity=4), 409, "insufficient_shares")
    assert sell(team_api, quantity=3).status_code == 201
    assert_books(team)


def test_cancelling_hands_back_exactly_what_the_order_held(team, team_api, company, open_market):
    assert buy(team_api, quantity=10).status_code == 201
    buy_order = place(team_api, "buy", "limit", "9.50", quantity=3).json()["order"]
    sell_order = place(team_api, "sell", "stop", "8.00", quantity=4).json()["order"]

    cancelled = team_api.delete(f"/api/orders/{buy_order['id']}")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["order"]["status"] == "cancelled"
    assert cancelled.json()["portfolio"]["reserved_cash"] == "0.00"
    after = team_api.delete(f"/api/orders/{sell_order['id']}").json()["portfolio"]
    assert after["holdings"][0]["reserved_quantity"] == 0
    assert_books(team)

    again = assert_problem(team_api.delete(f"/api/orders/{buy_order['id']}"), 409, "order_not_open")
    assert again["order_status"] == "cancelled"


def test_a_team_cannot_see_or_cancel_another_teams_order(team, other_team, team_api, company, open_market):
    theirs = services.book_place(
        participant=other_team, data={"ticker": "ACME", "type": "buy", "kind": "limit", "quantity": 1, "price": "9"}
    )
    assert team_api.delete(f"/api/orders/{theirs.order.pk}").status_code == 404
    assert team_api.get(f"/api/orders/{theirs.order.pk}").status_code == 404
    assert Order.objects.get(pk=theirs.order.pk).status == "open"


def test_the_list_is_the_teams_own_newest_first_and_filters_by_status(team, other_team, team_api, company, open_market):
    first = place(team_api, "buy", "limit", "9.00").json()["order"]["id"]
    second = place(team_api, "buy", "limit", "8.00").json()["order"]["id"]
    filled = place(team_api, "buy", "limit", "11.00").json()["order"]["id"]
    services.book_place(
        participant=other_team, data={"ticker": "ACME", "type": "buy", "kind": "limit", "quantity": 1, "price": "9"}
    )

    everything = team_api.get("/api/orders").json()
    assert [o["id"] for o in everything["results"]] == [filled, second, first]
    assert [o["id"] for o in team_api.get("/api/orders?status=open").json()["results"]] == [second, first]
    assert [o["id"] for o in team_api.get("/api/orders?status=filled").json()["results"]] == [filled]
    assert_problem(team_api.get("/api/orders?status=lost"), 400, "validation_error")


def test_at_most_max_open_orders_rest(team, team_api, company, open_market):
    EventSettings.objects.filter(pk=1).update(max_open_orders=2)
    assert place(team_api, "buy", "limit", "9.00").status_code == 201
    assert place(team_api, "buy", "limit", "8.00").status_code == 201

    body = assert_problem(place(team_api, "buy", "limit", "7.00"), 409, "too_many_orders")
    assert "2" in body["detail"]
    assert place(team_api, "buy", "limit", "11.00").json()["order"]["status"] == "filled"  # fills: never open
    assert Order.objects.filter(participant=team, status="open").count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "market"}, "kind"),
        ({"kind": None}, "kind"),
        ({"price": "0"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "9.999"}, "price"),
        ({"price": "1000000000000"}, "price"),
        ({"price": "ten"}, "price"),
        ({"expires": "week"}, "expires"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "5"}, "quantity"),
        ({"ticker": "NOPE"}, "ticker"),
        ({"type": "short"}, "type"),
        ({"expected_price": "10.00"}, "expected_price"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_orders_are_refused_field_by_field_and_nothing_is_held(team, team_api, company, open_market, change, field):
    body = {"ticker": "ACME", "type": "buy", "kind": "limit", "quantity": 1, "price": "9.00", **change}
    response = team_api.post("/api/orders", {k: v for k, v in body.items() if v is not None}, format="json")

    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"]
    assert not Order.objects.exists()
    assert_books(team)


def test_a_body_that_is_not_json_is_a_parse_error(team_api, company):
    response = team_api.generic("POST", "/api/orders", "{not json", content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_the_lot_size_frozen_teams_and_inactive_companies_are_refused_at_placing(team, team_api, company, open_market):
    EventSettings.objects.filter(pk=1).update(lot_size=10)
    assert_problem(place(team_api, "buy", "limit", "9.00", quantity=5), 400, "validation_error")
    EventSettings.objects.filter(pk=1).update(lot_size=1)
    services.company_update(company=company, by=None, is_active=False)
    assert_problem(place(team_api, "buy", "limit", "9.00"), 409, "company_inactive")
    services.company_update(company=company, by=None, is_active=True)
    services.participant_freeze(participant=team, by=None)
    assert_problem(place(team_api, "buy", "limit", "9.00"), 409, "participant_frozen")
    assert not Order.objects.exists()


def test_the_same_key_places_once_and_replays_the_first_answer(team, team_api, company, open_market):
    first = place(team_api, "buy", "limit", "9.00", quantity=2, HTTP_IDEMPOTENCY_KEY="order-1")
    again = place(team_api, "buy", "limit", "9.00", quantity=2, HTTP_IDEMPOTENCY_KEY="order-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(participant=team).count() == 1
    assert Order.objects.get().idempotency_key == "order-1"
    other = place(team_api, "buy", "limit", "8.00", quantity=2, HTTP_IDEMPOTENCY_KEY="order-1")
    assert_problem(other, 422, "idempotency_key_reused")
    assert_books(team)


def test_a_refusal_under_a_key_is_given_again_and_holds_nothing(team, team_api, company, open_market):
    EventSettings.objects.filter(pk=1).update(max_open_orders=0)
    first = place(team_api, "buy", "limit", "9.00", HTTP_IDEMPOTENCY_KEY="k")
    EventSettings.objects.filter(pk=1).update(max_open_orders=5)
    again = place(team_api, "buy", "limit", "9.00", HTTP_IDEMPOTENCY_KEY="k")

    assert_problem(first, 409, "too_many_orders")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert not Order.objects.exists()


def test_an_organiser_cancels_with_a_reason_that_is_audited_and_heard(team, team_api, admin_api, company, open_market):
    order = place(team_api, "buy", "limit", "9.00", quantity=4).json()["order"]

    blank = admin_api.post(f"/api/admin/orders/{order['id']}/cancel", {"reason": " "}, format="json")
    assert_problem(blank, 400, "validation_error")
    response = admin_api.post(f"/api/admin/orders/{order['id']}/cancel", {"reason": "Wrong ticker"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["reason"] == "Wrong ticker"
    assert response.json()["team"] == "Bull Riders"
    entry = AuditEntry.objects.get(action="order_cancel")
    assert entry.target == f"order:{order['id']}" and entry.data["reason"] == "Wrong ticker"
    assert_books(team)
    again = admin_api.post(f"/api/admin/orders/{order['id']}/cancel", {"reason": "Twice"}, format="json")
    assert_problem(again, 409, "order_not_open")


def test_the_admin_lists_every_teams_orders_by_team_ticker_and_status(
    team, other_team, team_api, admin_api, company, make_company, open_market
):
    make_company("BOLT", "5.00")
    place(team_api, "buy", "limit", "9.00")
    place(team_api, "buy", "limit", "4.00", ticker="BOLT")
    services.book_place(
        participant=other_team, data={"ticker": "ACME", "type": "buy", "kind": "stop", "quantity": 1, "price": "11"}
    )

    assert admin_api.get("/api/admin/orders").json()["count"] == 3
    mine = admin_api.get(f"/api/admin/orders?participant={team.pk}").json()["results"]
    assert {o["ticker"] for o in mine} == {"ACME", "BOLT"}
    assert [o["team"] for o in admin_api.get("/api/admin/orders?ticker=bolt").json()["results"]] == ["Bull Riders"]
    assert admin_api.get("/api/admin/orders?status=filled").json()["count"] == 0
    assert_problem(admin_api.get("/api/admin/orders?status=nope"), 400, "validation_error")
    assert_problem(team_api.get("/api/admin/orders"), 403, "permission_denied")


def test_open_orders_block_a_reversal_and_a_cash_removal_that_would_take_what_they_hold(
    team, team_api, company, open_market, admin_user
):
    trade = buy(team_api, quantity=10).json()["transaction"]
    place(team_api, "sell", "limit", "12.00", quantity=6)
    from market.errors import InsufficientFunds, ReversalRefused
    from market.models import Transaction

    with pytest.raises(ReversalRefused, match="held by its open orders"):
        services.trade_reverse(trade=Transaction.objects.get(pk=trade["id"]), by=admin_user, reason="Bug")
    place(team_api, "buy", "limit", "1.00", quantity=90_000)  # holds 90,000.00 of 99,900.00
    with pytest.raises(InsufficientFunds, match="held by its open orders"):
        services.cash_adjust(participant=team, amount=Decimal("-10000"), reason="Penalty", by=admin_user)
    assert Holding.objects.get(participant=team).quantity == 10
    assert_books(team)


def test_a_company_with_orders_cannot_be_deleted_only_deactivated(team, team_api, admin_api, make_company):
    bolt = make_company("BOLT", "5.00")
    place(team_api, "buy", "limit", "4.00", ticker="BOLT")

    body = assert_problem(admin_api.delete(f"/api/admin/companies/{bolt.pk}"), 409, "company_has_trades")
    assert "ordered" in body["detail"]
    assert Order.objects.filter(company=bolt, status="open").count() == 1
