"""The results workbook: final leaderboard, values by day, every trade, closing prices by day, every
order (test_orders_workbook.py); from the command line, the admin and the API."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from market.models import Transaction
from market.services import market_close, market_open, price_set, trade_execute, trade_reverse
from market.tests.helpers import assert_problem
from organisers.results import results_workbook

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://x","y")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["team", "ticker", "type", "quantity", "price", "total", "fee", "day", "created_at"]


def price(company, amount: str) -> None:
    price_set(company=company, price=Decimal(amount), by=None)


def buy(participant, company, quantity: int):
    return trade_execute(participant=participant, company=company, side="buy", quantity=quantity)


@pytest.fixture
def event(make_company, make_team, team, other_team):
    """Three days through the services. Values (cash + holdings) worked out by hand below."""
    acme, kopi = make_company("ACME", "10.00"), make_company("KOPI", "20.00", name=EVIL)
    evil = make_team(EVIL, school="@school")

    market_open(by=None)  # day 1
    buy(team, acme, 100)  # cash 99,000
    buy(other_team, kopi, 10)  # cash 99,800
    price(acme, "12.00")
    market_close(by=None)  # team 100,200; other 100,000; evil 100,000

    market_open(by=None)  # day 2
    price(kopi, "25.00")
    trade_execute(participant=other_team, company=kopi, side="sell", quantity=5)  # cash 99,925
    buy(evil, kopi, 1)  # cash 99,975
    late = make_company("LATE", "7.00", name="Listed on day 2")
    price(acme, "11.00")
    market_close(by=None)  # team 100,100; other 100,050; evil 100,000

    price(acme, "13.00")  # while closed
    market_open(by=None)  # day 3, still open
    price(acme, "14.00")  # team 100,400; other 100,050; evil 100,000
    return {"acme": acme, "kopi": kopi, "late": late, "team": team, "other": other_team, "evil": evil}


def read(content: bytes) -> dict[str, list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


SHEETS = ["Leaderboard", "Values by day", "Transactions", "Prices by day", "Orders", "Schools", "Day winners"]


def test_the_workbook_has_its_seven_sheets(event):
    assert list(read(results_workbook())) == SHEETS


def test_the_leaderboard_sheet_ranks_teams_by_value_with_inert_names(event):
    sheet = read(results_workbook())["Leaderboard"]

    assert sheet[0] == ["rank", "display_name", "school", "total_value", "return_pct", "trades"]
    assert sheet[1:] == [
        [1, "Bull Riders", "SMA 1", 100400, 0.4, 1],
        [2, "Bear Necessities", "SMA 2", 100050, 0.05, 2],
        [3, "'" + EVIL, "'@school", 100000, 0, 1],
    ]


def test_the_values_sheet_has_each_teams_close_of_each_day_and_its_value_now(event):
    sheet = read(results_workbook())["Values by day"]

    assert sheet[0] == ["rank", "display_name", "school", "starting_cash", "day 1", "day 2", "current"]
    assert sheet[1:] == [
        [1, "Bull Riders", "SMA 1", 100000, 100200, 100100, 100400],
        [2, "Bear Necessities", "SMA 2", 100000, 100000, 100050, 100050],
        [3, "'" + EVIL, "'@school", 100000, 100000, 100000, 100000],
    ]


def test_the_transactions_sheet_has_every_trade_oldest_first_in_event_time(event):
    sheet = read(results_workbook())["Transactions"]

    assert sheet[0] == [*HEADERS, "reversed_at"]
    assert [row[:8] for row in sheet[1:]] == [
        ["Bull Riders", "ACME", "buy", 100, 10, 1000, 0, 1],
        ["Bear Necessities", "KOPI", "buy", 10, 20, 200, 0, 1],
        ["Bear Necessities", "KOPI", "sell", 5, 25, 125, 0, 2],
        ["'" + EVIL, "KOPI", "buy", 1, 25, 25, 0, 2],
    ]
    first = Transaction.objects.order_by("created_at").first()
    assert sheet[1][8] == timezone.localtime(first.created_at).replace(tzinfo=None, microsecond=0)
    assert [row[9] for row in sheet[1:]] == [None] * 4  # none reversed


def test_a_reversed_trade_is_listed_with_the_time_it_was_reversed(event, admin_user):
    trade = Transaction.objects.get(participant=event["evil"])
    trade_reverse(trade=trade, by=admin_user, reason="Bought by mistake")
    trade.refresh_from_db()

    sheet = read(results_workbook())["Transactions"]

    (row,) = [row for row in sheet[1:] if row[0] == "'" + EVIL]
    assert row[9] == timezone.localtime(trade.reversed_at).replace(tzinfo=None, microsecond=0)


def test_the_prices_sheet_has_each_companys_close_of_each_day(event):
    sheet = read(results_workbook())["Prices by day"]

    assert sheet[0] == ["ticker", "name", "day 1", "day 2", "day 3 (open)", "current"]
    assert sheet[1:] == [
        ["ACME", "Acme", 12, 11, 14, 14],
        ["KOPI", "'" + EVIL, 20, 25, 25, 25],
        ["LATE", "Listed on day 2", None, 7, 7, 7],
    ]


def test_the_schools_sheet_ranks_schools_by_their_teams_average_return(event):
    sheet = read(results_workbook())["Schools"]

    assert sheet[0] == [
        "rank",
        "school",
        "teams",
        "combined_value",
        "combined_return_pct",
        "average_return_pct",
        "best_team",
        "best_team_value",
        "best_team_return_pct",
    ]
    assert sheet[1:] == [
        [1, "SMA 1", 1, 100400, 0.4, 0.4, "Bull Riders", 100400, 0.4],
        [2, "SMA 2", 1, 100050, 0.05, 0.05, "Bear Necessities", 100050, 0.05],
        [3, "'@school", 1, 100000, 0, 0, "'" + EVIL, 100000, 0],
    ]


def test_the_day_winners_sheet_has_each_closed_days_best_returns(event):
    sheet = read(results_workbook())["Day winners"]

    assert sheet[0] == ["day", "place", "display_name", "school", "value_at_close", "day_return_pct"]
    assert sheet[1:] == [
        [1, 1, "Bull Riders", "SMA 1", 100200, 0.2],
        [1, 2, "'" + EVIL, "'@school", 100000, 0],  # a tie at 0%: the same value, then by name
        [1, 3, "Bear Necessities", "SMA 2", 100000, 0],
        [2, 1, "Bear Necessities", "SMA 2", 100050, 0.05],
        [2, 2, "'" + EVIL, "'@school", 100000, 0],
        [2, 3, "Bull Riders", "SMA 1", 100100, -0.1],
    ]


def test_the_workbook_takes_the_same_queries_however_many_trades(event):
    with CaptureQueriesContext(connection) as few:
        results_workbook()
    for _ in range(20):
        buy(event["team"], event["kopi"], 1)
        buy(event["evil"], event["acme"], 1)

    with CaptureQueriesContext(connection) as many:
        content = results_workbook()

    assert len(many) == len(few) <= 13  # a few a sheet, whatever the size
    assert len(read(content)["Transactions"]) == 1 + 4 + 40


def test_an_event_without_trades_gives_a_workbook_of_headers(db):
    sheets = read(results_workbook())

    assert sheets["Transactions"] == [[*HEADERS, "reversed_at"]]
    assert sheets["Prices by day"] == [["ticker", "name", "current"]]


def test_the_command_writes_the_workbook(event, tmp_path):
    target = tmp_path / "results.xlsx"
    out = io.StringIO()

    call_command("export_results", str(target), stdout=out)

    assert f"Wrote {target}" in out.getvalue()
    assert read(target.read_bytes())["Leaderboard"][1][1] == "Bull Riders"


def test_the_command_refuses_a_name_that_is_not_xlsx(db, tmp_path):
    with pytest.raises(CommandError, match=r"\.xlsx"):
        call_command("export_results", str(tmp_path / "results.csv"))
    assert not (tmp_path / "results.csv").exists()


def test_organisers_download_the_workbook_from_the_api(admin_api, event):
    response = admin_api.get("/api/admin/results", HTTP_ACCEPT=XLSX)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith('attachment; filename="brainstorm-results-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    assert read(response.content)["Leaderboard"][1][1] == "Bull Riders"


def test_teams_get_403_and_strangers_401_from_the_results_endpoint(api, team_api, team):
    assert_problem(team_api.get("/api/admin/results"), 403, "permission_denied")
    assert_problem(api.get("/api/admin/results"), 401, "not_authenticated")


def test_organisers_find_the_workbook_in_the_admin(client, admin_user, team, event):
    url = reverse("admin:market_transaction_results")
    client.force_login(admin_user)
    for page in ("admin:market_participant_changelist", "admin:market_transaction_changelist"):
        # The buttons build it as a job (organisers/tests/test_jobs_admin.py); this URL still answers at once.
        assert reverse("admin:organisers_job_results") in client.get(reverse(page)).content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert list(read(response.content)) == SHEETS

    client.force_login(team.user)
    assert client.get(url).status_code == 302  # teams are sent to the admin sign-in
