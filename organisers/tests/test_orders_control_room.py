"""The control room and the orders that wait: how many are open, which teams have them, and all of
one team's open orders cancelled at once with a reason."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client

from market import services
from market.models import AuditEntry, Holding, Order, Participant

pytestmark = pytest.mark.django_db

ROOM = "/admin/control-room/"


def place(team, ticker: str = "ACME", price: str = "9.00", quantity: int = 5, side: str = "buy") -> Order:
    data = {"ticker": ticker, "type": side, "quantity": quantity, "kind": "limit", "price": price}
    return services.book_place(participant=team, data=data).order


def reserved(team) -> Decimal:
    return Participant.objects.get(pk=team.pk).reserved_cash


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def said(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def orders_table(response) -> list[list[str]]:
    """The open orders' table, each row's cells as text: team, open orders, cash held."""
    html = response.content.decode()
    body = html.split('<table class="open-orders">', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells[:3]])
    return rows


def cancel(client: Client, team, reason: str):
    """The row's button, and the page it leads back to."""
    response = client.post(f"{ROOM}cancel-orders", {"team": str(team.pk), "reason": reason})
    assert response.status_code == 302, response.content
    assert response["Location"] == f"{ROOM}#orders"
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


@pytest.fixture
def organiser(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def book(team, other_team, company, make_company, open_market):
    """Bull Riders: two ACME buys and a KOPI sell waiting, one ACME buy filled; Bear Necessities:
    one ACME buy waiting."""
    kopi = make_company("KOPI", "20.00")
    services.trade_execute(participant=team, company=kopi, side="buy", quantity=10)
    return {
        "filled": place(team, price="11.00", quantity=2),
        "mine": [
            place(team),
            place(team, price="8.50", quantity=2),
            place(team, ticker="KOPI", side="sell", price="25.00", quantity=4),
        ],
        "theirs": place(other_team, price="9.50", quantity=3),
    }


def test_the_page_shows_how_many_orders_are_open_and_whose(organiser, book, make_team):
    make_team("No Orders Club")

    page = organiser.get(ROOM)

    html = text(page)
    assert '<dt>Open orders</dt> <dd data-count="open_orders">4</dd>' in html
    assert orders_table(page) == [
        ["Bear Necessities SMA 2", "1", "28.50"],
        ["Bull Riders SMA 1", "3", "62.00"],  # 5 × 9.00 + 2 × 8.50; the sell holds shares, not cash
    ]
    assert "No Orders Club" not in html.split('id="orders"', 1)[1].split("</section>", 1)[0]
    assert organiser.get(f"{ROOM}counts").json()["open_orders"] == 4


def test_each_team_row_has_a_form_to_cancel_its_orders_and_the_page_runs_no_inline_script(organiser, team, book):
    page = organiser.get(ROOM).content.decode()

    row = re.search(rf'<tr data-team="{team.pk}">(.*?)</tr>', page, re.S).group(1)
    assert 'action="/admin/control-room/cancel-orders"' in row
    assert 'name="csrfmiddlewaretoken"' in row
    assert f'<input type="hidden" name="team" value="{team.pk}">' in row
    assert 'name="reason" required maxlength="500"' in row
    assert "Cancel its orders" in row
    assert "/admin/market/order/?status__exact=open&amp;q=Bull%20Riders" in row
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_without_open_orders_the_table_says_so(organiser, team, company):
    page = organiser.get(ROOM)

    assert orders_table(page) == [["No team has an open order."]]
    assert '<dd data-count="open_orders">0</dd>' in text(page)


def test_an_organiser_cancels_all_of_one_teams_open_orders(organiser, admin_user, team, other_team, book):
    outsider = reserved(other_team)
    assert reserved(team) == Decimal("62.00")
    assert Holding.objects.get(participant=team, company__ticker="KOPI").reserved_quantity == 4

    page = cancel(organiser, team, "  Left the event early  ")

    assert said(page) == [
        (
            "success",
            "Cancelled 3 open orders of Bull Riders: the cash and shares they held are free again, and the team "
            "sees them cancelled with your reason.",
        )
    ]
    for order in book["mine"]:
        order.refresh_from_db()
        assert (order.status, order.reason, order.cancelled_by) == ("cancelled", "Left the event early", admin_user)
    assert reserved(team) == Decimal("0.00")
    assert Holding.objects.get(participant=team, company__ticker="KOPI").reserved_quantity == 0
    assert Order.objects.get(pk=book["filled"].pk).status == "filled"  # an ended order stays as it was
    assert Order.objects.get(pk=book["theirs"].pk).status == "open"  # another team's untouched
    assert reserved(other_team) == outsider
    entries = AuditEntry.objects.filter(action="order_cancel")
    assert sorted(entry.target for entry in entries) == sorted(f"order:{order.pk}" for order in book["mine"])
    assert {(entry.actor, entry.data["team"], entry.data["reason"]) for entry in entries} == {
        (admin_user, "Bull Riders", "Left the event early")
    }
    assert orders_table(page) == [["Bear Necessities SMA 2", "1", "28.50"]]
    assert '<dd data-count="open_orders">1</dd>' in text(page)


@pytest.mark.parametrize("reason", ["", "   "])
def test_without_a_reason_nothing_is_cancelled(organiser, team, book, reason):
    page = cancel(organiser, team, reason)

    assert said(page) == [("error", "No order was cancelled: Say why the orders are cancelled.")]
    assert Order.objects.filter(participant=team, status="open").count() == 3
    assert reserved(team) == Decimal("62.00")
    assert not AuditEntry.objects.filter(action="order_cancel").exists()


def test_a_team_without_open_orders_or_an_unknown_team_is_named(organiser, team, other_team, book):
    services.book_cancel(order=book["theirs"], participant=other_team)

    nothing = cancel(organiser, other_team, "Checking")
    assert said(nothing) == [("info", "Bear Necessities has no open orders: nothing was cancelled.")]

    response = organiser.post(
        f"{ROOM}cancel-orders", {"team": "00000000-0000-0000-0000-000000000000", "reason": "Checking"}
    )
    assert said(organiser.get(response["Location"])) == [
        ("error", "No order was cancelled: the team no longer exists.")
    ]
    assert not AuditEntry.objects.filter(action="order_cancel").exists()
    assert Order.objects.filter(participant=team, status="open").count() == 3


def test_teams_strangers_and_forged_posts_cancel_nothing(client, admin_user, team, other_team, book):
    data = {"team": str(team.pk), "reason": "Sabotage"}
    client.force_login(other_team.user)
    response = client.post(f"{ROOM}cancel-orders", data)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.logout()
    assert client.post(f"{ROOM}cancel-orders", data)["Location"].startswith("/admin/login/")

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(f"{ROOM}cancel-orders", data).status_code == 403

    assert strict.get(f"{ROOM}cancel-orders").status_code == 405
    assert Order.objects.filter(participant=team, status="open").count() == 3
    assert reserved(team) == Decimal("62.00")
