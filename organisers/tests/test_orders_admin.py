"""The orders that wait in the Django admin: every team's orders to look through (read-only, with
filters and search), exported like the trades, and cancelled a few at a time with a reason."""

import csv
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from market import services
from market.models import AuditEntry, Holding, Order, Participant
from organisers.resources import ORDER_COLUMNS, OrderResource

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:market_order_changelist")
EVIL = '=HYPERLINK("http://x","y")'
CELL = re.compile(r'<t[dh] class="field-(\w+)[^"]*">(.*?)</t[dh]>', re.S)
SHOWN = ["team", "ticker", "side", "kind", "quantity", "price", "status", "expires"]


def place(team, ticker: str = "ACME", price: str = "9.00", quantity: int = 5, side: str = "buy") -> Order:
    data = {"ticker": ticker, "type": side, "quantity": quantity, "kind": "limit", "price": price}
    return services.book_place(participant=team, data=data).order


def reserved(team) -> Decimal:
    return Participant.objects.get(pk=team.pk).reserved_cash


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def rows_of(response) -> list[dict[str, str]]:
    """The changelist's rows as the organiser reads them: column → text."""
    assert response.status_code == 200, response.get("Location")
    html = response.content.decode()
    if '<table id="result_list">' not in html:
        return []  # no order matches
    body = html.split('<table id="result_list">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        {name: unescape(re.sub(r"<[^>]+>", "", cell)).strip() for name, cell in CELL.findall(row)}
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


@pytest.fixture
def organiser(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def kopi(make_company):
    return make_company("KOPI", "20.00")


@pytest.fixture
def book(team, other_team, company, kopi, open_market):
    """Bull Riders: an ACME buy resting at 9.00 and a KOPI buy at 19.00, an ACME buy filled at once;
    Bear Necessities: an ACME buy resting at 9.50."""
    return {
        "filled": place(team, price="11.00", quantity=2),
        "acme": place(team),
        "kopi": place(team, ticker="KOPI", price="19.00", quantity=1),
        "theirs": place(other_team, price="9.50", quantity=3),
    }


def select(client, orders: list[Order], **extra):
    """The changelist's "Go" with the action chosen and these orders ticked."""
    data = {"action": "cancel_selected", helpers.ACTION_CHECKBOX_NAME: [str(o.pk) for o in orders], **extra}
    return client.post(CHANGELIST, data)


def confirm(client, orders: list[Order], reason: str):
    """The intermediate page's button: the same orders, the reason typed."""
    return select(client, orders, confirm="yes", reason=reason)


# Looking through the orders


def shown(row: dict[str, str]) -> list[str]:
    return [row[name] for name in SHOWN]


def test_the_list_shows_each_order_with_its_team_ticker_side_and_status(organiser, book):
    page = organiser.get(CHANGELIST)

    assert page.status_code == 200
    html = text(page)
    for column in ("Created at", "Team", "Ticker", "Side", "Kind", "Quantity", "Price", "Status", "Expires"):
        assert f">{column}</a>" in html, column
    assert [shown(row) for row in rows_of(page)] == [  # newest first
        ["Bear Necessities", "ACME", "Buy", "Limit", "3", "9.50", "Open", "End of the day"],
        ["Bull Riders", "KOPI", "Buy", "Limit", "1", "19.00", "Open", "End of the day"],
        ["Bull Riders", "ACME", "Buy", "Limit", "5", "9.00", "Open", "End of the day"],
        ["Bull Riders", "ACME", "Buy", "Limit", "2", "11.00", "Filled", "End of the day"],
    ]
    assert all(row["created_at"] for row in rows_of(page))


def test_the_list_filters_by_status_kind_side_and_expiry(organiser, book):
    def prices(**query) -> list[str]:
        return [row["price"] for row in rows_of(organiser.get(CHANGELIST, query))]

    assert prices(status__exact="open") == ["9.50", "19.00", "9.00"]
    assert prices(status__exact="filled") == ["11.00"]
    assert prices(kind__exact="stop") == []
    assert prices(type__exact="sell") == []
    assert prices(type__exact="buy", expires__exact="day", kind__exact="limit") == ["9.50", "19.00", "9.00", "11.00"]
    assert prices(expires__exact="cancel") == []
    filters = text(organiser.get(CHANGELIST))
    for title in ("By status", "By kind", "By type", "By expires"):
        assert title in filters, title


def test_the_list_is_searched_by_team_name_or_ticker(organiser, book):
    def found(q: str) -> list[tuple[str, str]]:
        return [(row["team"], row["ticker"]) for row in rows_of(organiser.get(CHANGELIST, {"q": q}))]

    assert found("bear") == [("Bear Necessities", "ACME")]
    assert found("kopi") == [("Bull Riders", "KOPI")]
    assert len(found("riders")) == 3
    assert found("nobody") == []


def test_orders_are_read_only(organiser, book):
    order = book["acme"]
    detail = organiser.get(reverse("admin:market_order_change", args=[order.pk]))

    assert detail.status_code == 200
    html = text(detail)
    assert "Bull Riders" in html and "9.00" in html and "45.00" in html  # its team, price and cash held
    assert 'name="_save"' not in html and 'name="price"' not in html
    assert organiser.get(reverse("admin:market_order_add")).status_code == 403
    assert organiser.post(reverse("admin:market_order_change", args=[order.pk]), {"price": "1.00"}).status_code == 403
    assert organiser.post(reverse("admin:market_order_delete", args=[order.pk]), {"post": "yes"}).status_code == 403
    order.refresh_from_db()
    assert (order.status, order.price) == ("open", Decimal("9.00"))


def test_a_team_cannot_open_the_orders_admin(client, team, book):
    client.force_login(team.user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert select(client, [book["acme"]], confirm="yes", reason="Mine").status_code == 302
    assert Order.objects.get(pk=book["acme"].pk).status == "open"


def test_the_export_has_every_order_with_inert_text(organiser, make_team, company, open_market):
    evil = make_team(EVIL, school="@school")
    place(evil, price="9.00", quantity=1)
    data = {"format": "0", "resource": "0"}  # CSV
    data.update({f"orderresource_{name}": "on" for name in OrderResource().get_export_order()})

    response = organiser.post(reverse("admin:market_order_export"), data)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(ORDER_COLUMNS)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["team"], row["school"], row["ticker"], row["status"], row["reserved"]) == (
        "'" + EVIL,
        "'@school",
        "ACME",
        "open",
        "9.00",
    )
    assert evil.user.email not in response.content.decode("utf-8-sig")


def test_the_export_takes_the_same_queries_however_many_orders(organiser, make_team, company, open_market):
    def export_xlsx() -> None:
        data = {"format": "1", "resource": "0"}
        data.update({f"orderresource_{name}": "on" for name in OrderResource().get_export_order()})
        assert organiser.post(reverse("admin:market_order_export"), data).status_code == 200

    place(make_team(), quantity=1)
    with CaptureQueriesContext(connection) as few:
        export_xlsx()
    for _ in range(8):
        place(make_team(), quantity=1)
    with CaptureQueriesContext(connection) as many:
        export_xlsx()

    assert len(many) == len(few)


# Cancelling


def test_the_action_first_asks_why_and_lists_the_orders(organiser, team, book):
    page = select(organiser, [book["acme"], book["filled"]], index="0")

    assert page.status_code == 200
    html = text(page)
    assert "<h1>Cancel orders</h1>" in html
    assert "1 of the 2 selected orders is open and will be cancelled" in html
    assert "The others have already ended and stay as they are." in html
    assert "Bull Riders" in html and "Limit buy ACME" in html and "45.00" in html
    assert 'name="reason"' in html and 'value="Cancel 1 open order"' in html
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", page.content.decode())  # no inline script
    assert Order.objects.get(pk=book["acme"].pk).status == "open"  # nothing yet
    assert reserved(team) == Decimal("64.00")


def test_the_open_orders_selected_are_cancelled_with_the_reason(organiser, admin_user, team, other_team, book):
    acme, kopi, filled = book["acme"], book["kopi"], book["filled"]
    outsider = reserved(other_team)

    response = confirm(organiser, [acme, kopi, filled], reason="Placed during the outage")

    assert response.status_code == 302 and response["Location"] == CHANGELIST
    page = organiser.get(response["Location"])
    assert messages_of(page) == [
        ("success", "Cancelled 2 orders: what each held is free again."),
        (
            "warning",
            "Not cancelled, because not open: Bull Riders’s limit buy of 2 ACME at 11.00 (filled).",
        ),
    ]
    for order in (acme, kopi):
        order.refresh_from_db()
        assert (order.status, order.reason, order.cancelled_by) == ("cancelled", "Placed during the outage", admin_user)
        assert order.reserved == Decimal("0.00")
    assert reserved(team) == Decimal("0.00")
    assert reserved(other_team) == outsider  # another team's order untouched
    assert Order.objects.get(pk=book["theirs"].pk).status == "open"
    entries = AuditEntry.objects.filter(action="order_cancel")
    assert {entry.target for entry in entries} == {f"order:{acme.pk}", f"order:{kopi.pk}"}
    assert {(entry.actor, entry.data["reason"]) for entry in entries} == {(admin_user, "Placed during the outage")}
    assert [row["status"] for row in rows_of(page)] == ["Open", "Cancelled", "Cancelled", "Filled"]


def test_a_sell_cancelled_hands_back_its_shares(organiser, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    sell = place(team, side="sell", price="12.00", quantity=4)
    assert Holding.objects.get(participant=team).reserved_quantity == 4

    confirm(organiser, [sell], reason="Wrong ticker")

    assert Holding.objects.get(participant=team).reserved_quantity == 0
    assert Order.objects.get(pk=sell.pk).status == "cancelled"


@pytest.mark.parametrize("reason", ["", "   "])
def test_without_a_reason_the_page_asks_again_and_nothing_changes(organiser, team, book, reason):
    page = confirm(organiser, [book["acme"]], reason=reason)

    assert page.status_code == 200
    assert "Say why the orders are cancelled." in text(page)
    assert Order.objects.get(pk=book["acme"].pk).status == "open"
    assert reserved(team) == Decimal("64.00")
    assert not AuditEntry.objects.filter(action="order_cancel").exists()


def test_a_selection_with_no_open_order_says_so(organiser, book):
    services.book_cancel(order=book["acme"], participant=book["acme"].participant)

    response = select(organiser, [book["filled"], book["acme"]], index="0")

    assert response.status_code == 302
    page = organiser.get(response["Location"])
    assert messages_of(page) == [("info", "None of the selected orders is open: nothing to cancel.")]
    assert not AuditEntry.objects.filter(action="order_cancel").exists()
