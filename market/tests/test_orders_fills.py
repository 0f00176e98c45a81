"""Orders that wait, filled (SPEC §4b): on every price change and at the start bell, in the order
placed, at the current price, as ordinary trades; rejected when a stop buy can no longer be paid;
waiting for a frozen team or an inactive company; expiring at the end bell."""

import threading
import time
from decimal import Decimal

import pytest

from market import selectors, services
from market.models import Order, Transaction
from market.tests.helpers import assert_books, buy, place
from organisers.scheduler import run_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """The events sent after commit, with where they went."""
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **where: sent.append((event, where)))
    monkeypatch.setattr("market.events.send_now", lambda event, **where: sent.append((event, where)))
    return sent


@pytest.fixture
def change(django_capture_on_commit_callbacks):
    """An organiser's price change, its fills made once it commits (the desk runs them inline)."""

    def change_to(company, price: str):
        with django_capture_on_commit_callbacks(execute=True):
            services.price_set(company=company, price=Decimal(price), by=None)

    return change_to


def status_of(response) -> str:
    return Order.objects.get(pk=response.json()["order"]["id"]).status


def test_a_price_change_fills_the_orders_it_makes_due_in_the_order_placed(
    team, other_team, team_api, company, open_market, change
):
    from rest_framework.test import APIClient

    other_api = APIClient()
    other_api.force_authenticate(other_team.user)
    first = place(other_api, "buy", "limit", "9.00", quantity=3)
    second = place(team_api, "buy", "limit", "9.50", quantity=2)
    waiting = place(team_api, "buy", "limit", "8.00", quantity=1)

    change(company, "8.90")

    assert [status_of(first), status_of(second), status_of(waiting)] == ["filled", "filled", "open"]
    fills = list(Transaction.objects.filter(order__isnull=False).order_by("created_at"))
    assert [str(fill.order.pk) for fill in fills] == [first.json()["order"]["id"], second.json()["order"]["id"]]
    assert {fill.price for fill in fills} == {Decimal("8.90")}  # the current price, never the order's
    assert_books(team)
    assert_books(other_team)
    team.refresh_from_db()
    assert team.cash == Decimal("100000.00") - Decimal("17.80")
    assert team.reserved_cash == Decimal("8.00")  # the one still open


def test_a_fill_is_heard_as_a_trade_and_by_the_team_as_its_order_and_portfolio(
    team, other_team, team_api, company, open_market, change, heard
):
    placed = place(team_api, "buy", "limit", "9.00", quantity=3).json()["order"]
    heard.clear()

    change(company, "9.00")

    kinds = [(event["type"], where.get("to")) for event, where in heard]
    assert ("trade", None) in kinds
    order_events = [event["data"] for event, where in heard if event["type"] == "order"]
    assert [(o["id"], o["status"]) for o in order_events] == [(placed["id"], "filled")]
    assert ("order", team.user_id) in kinds
    portfolio = [event["data"] for event, where in heard if event["type"] == "portfolio"][-1]
    assert portfolio["transaction"]["order"] == placed["id"]
    assert portfolio["reserved_cash"] == "0.00" and portfolio["cash"] == "99973.00"
    # Ranked after the fill: the team that traded goes ahead of the one that never did (SPEC §3).
    team.refresh_from_db()
    assert portfolio["rank"] == selectors.participant_rank(team) == 1


def test_limit_and_stop_sells_fill_and_hand_back_their_shares(team, team_api, company, open_market, change):
    buy(team_api, quantity=10)
    take_profit = place(team_api, "sell", "limit", "12.00", quantity=4)
    stop_loss = place(team_api, "sell", "stop", "8.00", quantity=6)

    change(company, "12.50")
    assert (status_of(take_profit), status_of(stop_loss)) == ("filled", "open")
    change(company, "7.00")
    assert status_of(stop_loss) == "filled"

    assert not team.holdings.get().quantity
    assert list(Transaction.objects.filter(type="sell").order_by("created_at").values_list("price", flat=True)) == [
        Decimal("12.50"),
        Decimal("7.00"),
    ]
    assert_books(team)


def test_a_stop_buy_the_team_cannot_pay_when_it_triggers_is_rejected_and_frees_its_cash(
    team, team_api, company, open_market, change, heard
):
    team.cash = team.starting_cash = team.portfolio_value = Decimal("1000.00")
    team.save()
    stop = place(team_api, "buy", "stop", "11.00", quantity=80)  # holds 880.00
    assert buy(team_api, quantity=10).status_code == 201  # 100.00 of the 120.00 free

    change(company, "12.00")  # 80 × 12.00 = 960.00 > 880.00 + 20.00

    rejected = Order.objects.get(pk=stop.json()["order"]["id"])
    assert (rejected.status, rejected.reason, rejected.transaction) == ("rejected", "insufficient_funds", None)
    assert ("order", team.user_id) in [(e["type"], w.get("to")) for e, w in heard]
    assert_books(team)
    team.refresh_from_db()
    assert team.reserved_cash == 0 and team.cash == Decimal("900.00")


def test_a_stop_buy_the_team_can_pay_fills_above_its_reservation(team, team_api, company, open_market, change):
    stop = place(team_api, "buy", "stop", "11.00", quantity=10)
    change(company, "11.50")
    assert status_of(stop) == "filled"
    assert Order.objects.get().transaction.total == Decimal("115.00")
    assert_books(team)


def test_a_frozen_teams_orders_wait_and_fill_once_it_is_unfrozen(
    team, team_api, company, open_market, change, django_capture_on_commit_callbacks
):
    order = place(team_api, "buy", "limit", "9.00")
    services.participant_freeze(participant=team, by=None)
    change(company, "8.00")
    assert status_of(order) == "open"

    with django_capture_on_commit_callbacks(execute=True):
        services.participant_freeze(participant=team, frozen=False, by=None)

    assert status_of(order) == "filled"
    assert Order.objects.get().transaction.price == Decimal("8.00")
    assert_books(team)


def test_an_inactive_companys_orders_wait_until_it_trades_again(
    team, team_api, company, open_market, change, django_capture_on_commit_callbacks
):
    order = place(team_api, "buy", "limit", "9.00")
    services.company_update(company=company, by=None, is_active=False)
    change(company, "8.00")
    assert status_of(order) == "open"
    with django_capture_on_commit_callbacks(execute=True):
        services.company_update(company=company, by=None, is_active=True)
    assert status_of(order) == "filled"


def test_nothing_fills_while_the_market_is_closed(team, team_api, company, change):
    order = place(team_api, "buy", "limit", "9.00")
    change(company, "8.00")
    assert status_of(order) == "open"
    assert services.book_fill_due() == 0


def test_the_scheduler_fills_what_no_process_filled(team, team_api, company, open_market):
    order = place(team_api, "buy", "limit", "9.00")
    services.price_set(company=company, price=Decimal("8.50"), by=None)  # its commit's pass never ran
    assert status_of(order) == "open"

    assert run_due() == ["1 waiting orders filled"]
    assert status_of(order) == "filled"
    assert run_due() == []


def test_at_the_end_bell_orders_for_the_day_expire_and_those_until_cancelled_stay(
    team, team_api, company, open_market, django_capture_on_commit_callbacks, heard
):
    buy(team_api, quantity=5)
    day_buy = place(team_api, "buy", "limit", "9.00", quantity=2)
    day_sell = place(team_api, "sell", "limit", "12.00", quantity=5)
    lasting = place(team_api, "buy", "stop", "12.00", quantity=1, expires="cancel")
    heard.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.market_close(by=None)

    assert [status_of(day_buy), status_of(day_sell), status_of(lasting)] == ["expired", "expired", "open"]
    assert Order.objects.get(pk=day_buy.json()["order"]["id"]).closed_at is not None
    assert_books(team)
    team.refresh_from_db()
    assert team.reserved_cash == Order.objects.get(pk=lasting.json()["order"]["id"]).reserved
    expired = sorted(e["data"]["id"] for e, w in heard if e["type"] == "order" and w["to"] == team.user_id)
    assert expired == sorted([day_buy.json()["order"]["id"], day_sell.json()["order"]["id"]])
    assert [e["data"]["reserved_cash"] for e, w in heard if e["type"] == "portfolio"] == ["12.00"]


def test_an_order_that_lasts_fills_on_a_later_day(team, team_api, company, open_market, change):
    order = place(team_api, "buy", "limit", "9.00", expires="cancel")
    services.market_close(by=None)
    services.market_open(by=None)
    change(company, "9.00")
    assert status_of(order) == "filled"
    assert Order.objects.get().transaction.day == 2


@pytest.mark.django_db(transaction=True)
def test_on_a_server_the_change_answers_before_its_fills_which_follow_on_the_desk(
    settings, make_team, make_company, monkeypatch
):
    from market.services import fills

    settings.ORDER_FILLS = "background"
    gate, real_pass = threading.Event(), fills.book_fill_due
    monkeypatch.setattr(fills, "book_fill_due", lambda: gate.wait(10) and real_pass())
    company = make_company("ACME", "10.00")
    services.market_open(by=None)
    teams = [make_team() for _ in range(5)]
    for team in teams:
        services.book_place(
            participant=team, data={"ticker": "ACME", "type": "buy", "kind": "limit", "quantity": 1, "price": "9.00"}
        )

    services.price_set(company=company, price=Decimal("9.00"), by=None)
    assert Order.objects.filter(status="open").count() == 5  # answered; the desk holds the fills
    gate.set()

    deadline = time.monotonic() + 10
    while Order.objects.filter(status="open").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Order.objects.filter(status="filled").count() == 5
    for team in teams:
        assert_books(team)


def test_a_pass_groups_the_due_orders_oldest_first_never_a_teams_later_order_before_its_earlier():
    from market.services.fills import Due, batches

    due = [Due(n, team, None, "ACME") for n, team in enumerate(["a", "a", "b", "c", "a", "d", "b"])]

    groups = [[(order.pk, order.team) for order in batch] for batch in batches(due, 3)]

    assert groups == [[(0, "a"), (2, "b"), (3, "c")], [(1, "a"), (5, "d"), (6, "b")], [(4, "a")]]
    for team in "abcd":
        placed = [pk for batch in groups for pk, who in batch if who == team]
        assert placed == sorted(placed)
