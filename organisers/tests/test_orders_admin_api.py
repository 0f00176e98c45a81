"""The admin API of the orders that wait (SPEC §4b): every team's orders, filtered by team, ticker
and status; an organiser cancels an open one with a reason (audited), teams are refused."""

from decimal import Decimal

import pytest

from market import services
from market.models import AuditEntry, Order, Participant
from market.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

ORDERS = "/api/admin/orders"


def place(team, ticker: str = "ACME", price: str = "9.00", quantity: int = 5, side: str = "buy") -> Order:
    data = {"ticker": ticker, "type": side, "quantity": quantity, "kind": "limit", "price": price}
    return services.book_place(participant=team, data=data).order


def reserved(team) -> Decimal:
    return Participant.objects.get(pk=team.pk).reserved_cash


@pytest.fixture
def kopi(make_company):
    return make_company("KOPI", "20.00")


@pytest.fixture
def book(team, other_team, company, kopi, open_market):
    """Bull Riders: an ACME buy resting at 9.00, a KOPI buy resting at 19.00, an ACME buy filled at
    once (its limit above the price) and one it cancelled itself; Bear Necessities: an ACME buy."""
    filled = place(team, price="11.00", quantity=2)
    cancelled = place(team, price="8.00", quantity=1)
    services.book_cancel(order=cancelled, participant=team)
    return {
        "acme": place(team),
        "kopi": place(team, ticker="KOPI", price="19.00", quantity=1),
        "filled": filled,
        "cancelled": cancelled,
        "theirs": place(other_team, price="9.50", quantity=3),
    }


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_organisers_list_every_teams_orders_newest_first(admin_api, book):
    response = admin_api.get(ORDERS)

    rows = response.json()["results"]
    assert {row["id"] for row in rows} == {str(order.pk) for order in book.values()}
    assert [row["created_at"] for row in rows] == sorted((row["created_at"] for row in rows), reverse=True)
    (theirs,) = [row for row in rows if row["id"] == str(book["theirs"].pk)]
    assert (theirs["team"], theirs["ticker"], theirs["type"], theirs["kind"]) == (
        "Bear Necessities",
        "ACME",
        "buy",
        "limit",
    )
    assert (theirs["quantity"], theirs["price"], theirs["status"], theirs["reserved"]) == (3, "9.50", "open", "28.50")


def test_the_list_filters_by_team_ticker_and_status(admin_api, team, other_team, book):
    mine = {str(book[name].pk) for name in ("acme", "kopi", "filled", "cancelled")}
    assert ids(admin_api.get(ORDERS, {"participant": str(team.pk)})) == mine
    assert ids(admin_api.get(ORDERS, {"participant": str(other_team.pk)})) == {str(book["theirs"].pk)}
    assert ids(admin_api.get(ORDERS, {"ticker": "kopi"})) == {str(book["kopi"].pk)}
    assert ids(admin_api.get(ORDERS, {"status": "open", "ticker": "ACME"})) == {
        str(book["acme"].pk),
        str(book["theirs"].pk),
    }
    assert ids(admin_api.get(ORDERS, {"status": "filled"})) == {str(book["filled"].pk)}
    assert ids(admin_api.get(ORDERS, {"status": "cancelled", "participant": str(other_team.pk)})) == set()


def test_the_filters_are_validated(admin_api):
    for bad in ({"participant": "not-a-uuid"}, {"status": "resting"}, {"ticker": "no spaces"}):
        body = assert_problem(admin_api.get(ORDERS, bad), 400, "validation_error")
        assert set(bad) <= set(body["errors"])


def test_an_orders_detail_names_its_team_and_its_fill(admin_api, team, book):
    filled = book["filled"]

    body = admin_api.get(f"{ORDERS}/{filled.pk}").json()

    assert (body["team"], body["participant"], body["status"]) == ("Bull Riders", str(team.pk), "filled")
    assert body["transaction"] == str(filled.transaction_id)
    assert body["filled_at"] is not None and body["reserved"] == "0.00"
    assert admin_api.get(f"{ORDERS}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_an_organiser_cancels_an_open_order_with_a_reason(admin_api, admin_user, team, other_team, book):
    order = book["acme"]
    assert reserved(team) == Decimal("64.00")  # 5 × 9.00 and 1 × 19.00 held
    outsider = reserved(other_team)

    response = admin_api.post(f"{ORDERS}/{order.pk}/cancel", {"reason": "  Placed by mistake  "}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["reason"]) == (str(order.pk), "cancelled", "Placed by mistake")
    assert (body["reserved"], body["cancelled_by"], body["team"]) == ("0.00", str(admin_user.pk), "Bull Riders")
    assert body["closed_at"] is not None
    order.refresh_from_db()
    assert (order.status, order.cancelled_by) == ("cancelled", admin_user)
    assert reserved(team) == Decimal("19.00")  # the KOPI order still holds its cash
    assert reserved(other_team) == outsider
    entry = AuditEntry.objects.get(action="order_cancel")
    assert (entry.actor, entry.target) == (admin_user, f"order:{order.pk}")
    assert (entry.data["team"], entry.data["reason"]) == ("Bull Riders", "Placed by mistake")


@pytest.mark.parametrize("reason", [{"reason": ""}, {"reason": "   "}, {}])
def test_a_cancel_without_a_reason_is_refused_and_changes_nothing(admin_api, team, book, reason):
    order = book["acme"]

    body = assert_problem(admin_api.post(f"{ORDERS}/{order.pk}/cancel", reason, format="json"), 400, "validation_error")

    assert "reason" in body["errors"]
    order.refresh_from_db()
    assert order.status == "open"
    assert reserved(team) == Decimal("64.00")
    assert not AuditEntry.objects.filter(action="order_cancel").exists()


@pytest.mark.parametrize("name, status", [("filled", "filled"), ("cancelled", "cancelled")])
def test_an_order_that_is_not_open_cannot_be_cancelled(admin_api, team, book, name, status):
    order = book[name]

    body = assert_problem(
        admin_api.post(f"{ORDERS}/{order.pk}/cancel", {"reason": "Too late"}, format="json"), 409, "order_not_open"
    )

    assert body["order_status"] == status
    order.refresh_from_db()
    assert (order.status, order.reason) == (status, "")
    assert reserved(team) == Decimal("64.00")
    assert not AuditEntry.objects.filter(action="order_cancel").exists()


def test_an_order_cancelled_twice_is_refused_the_second_time(admin_api, book):
    url = f"{ORDERS}/{book['acme'].pk}/cancel"
    assert admin_api.post(url, {"reason": "Duplicate"}, format="json").status_code == 200

    assert_problem(admin_api.post(url, {"reason": "Duplicate"}, format="json"), 409, "order_not_open")
    assert AuditEntry.objects.filter(action="order_cancel").count() == 1


def test_teams_get_403_and_strangers_401(api, team_api, team, other_team, book):
    theirs = book["theirs"]
    for response in (
        team_api.get(ORDERS),
        team_api.get(f"{ORDERS}/{theirs.pk}"),
        team_api.post(f"{ORDERS}/{theirs.pk}/cancel", {"reason": "Mine now"}, format="json"),
        team_api.post(f"{ORDERS}/{book['acme'].pk}/cancel", {"reason": "My own"}, format="json"),
    ):
        assert_problem(response, 403, "permission_denied")
    assert_problem(api.get(ORDERS), 401, "not_authenticated")
    theirs.refresh_from_db()
    assert theirs.status == "open"
    assert Order.objects.filter(status="open").count() == 3
