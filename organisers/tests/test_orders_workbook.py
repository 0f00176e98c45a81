"""The results workbook's Orders sheet: every limit and stop order, oldest first, open or ended,
with what it held, its fill's trade or why it ended; every text cell inert."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from market import services
from market.models import Order
from organisers.results import results_workbook

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://x","y")'
HEADERS = [
    "team",
    "school",
    "ticker",
    "type",
    "kind",
    "quantity",
    "price",
    "status",
    "expires",
    "reserved",
    "created_at",
    "filled_at",
    "closed_at",
    "transaction",
    "reason",
]


def place(team, price: str, quantity: int = 5, side: str = "buy", kind: str = "limit", **extra) -> Order:
    data = {"ticker": "ACME", "type": side, "quantity": quantity, "kind": kind, "price": price, **extra}
    return services.book_place(participant=team, data=data).order


def orders_sheet(content: bytes | None = None) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content or results_workbook()))
    sheet = book["Orders"]
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def local(at):
    """A time as the sheet shows it: event time, to the second, no zone."""
    return timezone.localtime(at).replace(tzinfo=None, microsecond=0) if at else None


@pytest.fixture
def orders(team, make_team, company, admin_user):
    """Day 1: an ACME buy filled at once, a day buy left to expire, a buy until cancelled left open,
    a stop sell of another team that an organiser cancels with a reason starting with "="."""
    evil = make_team(EVIL, school="@school")
    services.market_open(by=None)
    filled = place(team, "11.00", quantity=2)
    expiring = place(team, "9.00")
    lasting = place(team, "8.00", quantity=1, expires="cancel")
    services.trade_execute(participant=evil, company=company, side="buy", quantity=10)
    stop = place(evil, "7.50", quantity=10, side="sell", kind="stop")
    services.book_cancel(order=stop, by=admin_user, reason="=1+1 cancelled by the desk")
    services.market_close(by=None)
    for order in (filled, expiring, lasting, stop):
        order.refresh_from_db()
    return {"filled": filled, "expiring": expiring, "lasting": lasting, "stop": stop}


def test_the_sheet_lists_every_order_oldest_first_as_it_ended(orders):
    sheet = orders_sheet()

    assert sheet[0] == HEADERS
    assert [row[:10] for row in sheet[1:]] == [
        ["Bull Riders", "SMA 1", "ACME", "buy", "limit", 2, 11, "filled", "day", 0],
        ["Bull Riders", "SMA 1", "ACME", "buy", "limit", 5, 9, "expired", "day", 0],
        ["Bull Riders", "SMA 1", "ACME", "buy", "limit", 1, 8, "open", "cancel", 8],  # still holds 1 × 8.00
        ["'" + EVIL, "'@school", "ACME", "sell", "stop", 10, 7.5, "cancelled", "day", 0],
    ]


def test_a_filled_order_names_its_trade_and_an_ended_one_its_times(orders):
    rows = {row[7]: row for row in orders_sheet()[1:]}
    filled, expiring, lasting = orders["filled"], orders["expiring"], orders["lasting"]

    assert rows["filled"][10:14] == [
        local(filled.created_at),
        local(filled.filled_at),
        local(filled.closed_at),
        str(filled.transaction_id),
    ]
    assert rows["expired"][10:14] == [local(expiring.created_at), None, local(expiring.closed_at), None]
    assert rows["expired"][12] is not None
    assert rows["open"][10:15] == [local(lasting.created_at), None, None, None, None]


def test_an_organisers_reason_is_kept_and_inert(orders):
    (row,) = [row for row in orders_sheet()[1:] if row[7] == "cancelled"]

    assert row[14] == "'=1+1 cancelled by the desk"
    assert orders["stop"].reason == "=1+1 cancelled by the desk"  # stored as typed; only the file is inert


def test_the_sheet_takes_the_same_queries_however_many_orders(team, other_team, company):
    place(team, "9.00", quantity=1)
    with CaptureQueriesContext(connection) as few:
        results_workbook()
    for price in ("8.00", "8.50", "7.00"):
        place(team, price, quantity=1)
        place(other_team, price, quantity=1)

    with CaptureQueriesContext(connection) as many:
        content = results_workbook()

    assert len(many) == len(few)
    assert len(orders_sheet(content)) == 1 + 7
    assert Decimal(str(orders_sheet(content)[1][9])) == Decimal("9.00")


def test_an_event_without_orders_gives_the_header_alone(db):
    assert orders_sheet() == [HEADERS]


def test_the_admins_download_has_the_orders_sheet(client, admin_user, orders):
    client.force_login(admin_user)

    response = client.get(reverse("admin:market_transaction_results"))

    assert response.status_code == 200
    assert len(orders_sheet(response.content)) == 1 + 4
