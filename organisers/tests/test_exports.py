"""Organisers export companies, teams, transactions and the leaderboard as CSV and XLSX from the
admin; every text cell comes out inert, numbers stay numbers, times are in the event time zone."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from market.models import Company, EventSettings
from market.services import cash_adjust, trade_execute
from organisers.resources import (
    CompanyResource,
    LeaderboardResource,
    ParticipantExportResource,
    TransactionResource,
    import_file,
)

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://x","y")'
FORMATS = {"csv": "0", "xlsx": "1"}  # the order of settings.IMPORT_EXPORT_FORMATS


@pytest.fixture
def organiser(client, admin_user):
    client.force_login(admin_user)
    return client


def export(client, model: str, resource, kind: str, resource_index: int = 0):
    """POST the admin's export form (import-export 4) with every column of `resource` ticked."""
    data = {"format": FORMATS[kind], "resource": str(resource_index)}
    data.update({f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()})
    response = client.post(reverse(f"admin:market_{model}_export"), data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def rows_of(response, kind: str) -> list[list]:
    """The file read back as a spreadsheet program would: csv or openpyxl."""
    if kind == "csv":
        assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads accents right
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def as_dicts(rows: list[list]) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_companies_export_with_prices_and_financials_and_inert_names(organiser, make_company, kind):
    make_company("ACME", "12.50", name=EVIL, financials={"2024": {"revenue": 1200}})
    make_company("KOPI", "3.00", name="Kopi Kita", is_active=False)

    rows = as_dicts(rows_of(export(organiser, "company", CompanyResource, kind), kind))

    assert list(rows[0]) == ["ticker", "name", "description", "price", "previous_price", "is_active", "financials"]
    acme, kopi = rows
    assert acme["name"] == "'" + EVIL
    assert acme["financials"] == '{"2024": {"revenue": 1200}}'
    if kind == "csv":
        assert (acme["price"], kopi["is_active"]) == ("12.50", "False")
    else:
        assert acme["price"] == 12.5 and isinstance(acme["price"], float | int)
        assert kopi["is_active"] is False


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_exported_company_file_imports_back_unchanged(organiser, admin_user, make_company, kind):
    make_company("ACME", "12.50", name=EVIL, description="-5% on Monday", financials={"2024": {"profit": 1.5}})
    response = export(organiser, "company", CompanyResource, kind)

    report = import_file(CompanyResource, content=response.content, filename=f"companies.{kind}", by=admin_user)

    assert report == {"dry_run": False, "created": 0, "updated": 0, "unchanged": 1, "errors": []}
    acme = Company.objects.get(ticker="ACME")
    assert (acme.name, acme.description) == (EVIL, "-5% on Monday")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("name", [EVIL, "+1", "-1", "@SUM(A1)", "\tTabbed", "\rReturned"])
def test_every_formula_start_is_neutralised_in_the_teams_export(organiser, make_team, kind, name):
    make_team(name, school="SMA 1")

    rows = as_dicts(rows_of(export(organiser, "participant", ParticipantExportResource, kind), kind))

    written = name.replace("\r", "\n") if kind == "xlsx" else name  # XML reads a bare CR back as LF
    assert [row["display_name"] for row in rows] == ["'" + written]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_teams_export_has_every_team_with_its_money(organiser, team, other_team, company, open_market, kind):
    trade_execute(participant=team, company=company, side="buy", quantity=10)

    rows = as_dicts(rows_of(export(organiser, "participant", ParticipantExportResource, kind), kind))

    assert list(rows[0]) == [
        "email",
        "display_name",
        "school",
        "starting_cash",
        "cash",
        "portfolio_value",
        "trade_count",
        "is_frozen",
    ]
    by_name = {row["display_name"]: row for row in rows}
    bulls, bears = by_name["Bull Riders"], by_name["Bear Necessities"]
    assert bulls["email"] == team.user.email
    if kind == "csv":
        assert (bulls["cash"], bulls["portfolio_value"], bulls["trade_count"]) == ("99900.00", "100000.00", "1")
        assert (bears["trade_count"], bears["is_frozen"]) == ("0", "False")
    else:
        assert (bulls["cash"], bulls["portfolio_value"], bulls["trade_count"]) == (99900, 100000, 1)
        assert (bears["trade_count"], bears["is_frozen"]) == (0, False)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_transactions_export_names_teams_not_emails_with_event_times(
    organiser, make_team, other_team, company, open_market, kind
):
    evil = make_team(EVIL)
    trade = trade_execute(participant=evil, company=company, side="buy", quantity=3).transaction
    trade.refresh_from_db()

    response = export(organiser, "transaction", TransactionResource, kind)

    rows = as_dicts(rows_of(response, kind))
    assert list(rows[0]) == [
        "team",
        "ticker",
        "type",
        "quantity",
        "price",
        "total",
        "fee",
        "day",
        "created_at",
        "reversed_at",
    ]
    assert evil.user.email.encode() not in response.content
    (row,) = rows  # the other team did not trade
    local = timezone.localtime(trade.created_at).replace(tzinfo=None, microsecond=0)
    assert row["team"] == "'" + EVIL
    assert (row["ticker"], row["type"]) == ("ACME", "buy")
    if kind == "csv":
        assert (row["quantity"], row["price"], row["total"], row["fee"], row["day"]) == (
            "3",
            "10.00",
            "30.00",
            "0.00",
            "1",
        )
        assert row["created_at"] == f"{local:%Y-%m-%d %H:%M:%S}"
        assert row["reversed_at"] == ""
    else:
        assert (row["quantity"], row["price"], row["total"], row["fee"], row["day"]) == (3, 10, 30, 0, 1)
        assert row["created_at"] == local
        assert row["reversed_at"] is None
    assert timezone.get_current_timezone_name() == "Asia/Jakarta"  # the event time zone of the settings


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_leaderboard_export_ranks_every_team_and_keeps_negative_returns_numbers(
    organiser, make_team, team, other_team, company, open_market, kind
):
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.01"))
    evil = make_team(EVIL, school="=cmd")
    cash_adjust(participant=evil, amount=Decimal("50.00"), reason="Quiz prize", by=None)
    trade_execute(participant=team, company=company, side="buy", quantity=100)  # pays a 10.00 fee

    response = export(organiser, "participant", LeaderboardResource, kind, resource_index=1)

    rows = as_dicts(rows_of(response, kind))
    assert list(rows[0]) == ["rank", "display_name", "school", "total_value", "return_pct", "trades"]
    assert [row["display_name"] for row in rows] == ["'" + EVIL, "Bear Necessities", "Bull Riders"]
    assert rows[0]["school"] == "'=cmd"
    last = rows[2]
    if kind == "csv":
        assert (last["rank"], last["total_value"], last["return_pct"], last["trades"]) == (
            "3",
            "99990.00",
            "-0.01",
            "1",
        )
    else:
        assert (last["rank"], last["total_value"], last["return_pct"], last["trades"]) == (3, 99990, -0.01, 1)
    assert evil.display_name == EVIL  # stored as typed; only the file is neutralised


def test_the_leaderboard_is_one_click_from_the_teams_page(organiser, team, other_team, make_team):
    cash_adjust(participant=make_team(EVIL), amount=Decimal("50.00"), reason="Quiz prize", by=None)
    changelist = organiser.get(reverse("admin:market_participant_changelist"))
    link = reverse("admin:market_participant_leaderboard")
    assert link in changelist.content.decode()

    response = organiser.get(link)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="leaderboard-')
    rows = rows_of(response, "xlsx")
    assert rows[0] == ["rank", "display_name", "school", "total_value", "return_pct", "trades"]
    assert [row[:2] for row in rows[1:]] == [[1, "'" + EVIL], [2, "Bear Necessities"], [3, "Bull Riders"]]


def test_export_pages_answer_an_organiser_and_refuse_a_team(client, admin_user, team):
    pages = ["company", "participant", "transaction"]
    client.force_login(team.user)
    for model in pages:
        assert client.get(reverse(f"admin:market_{model}_export")).status_code == 302  # to the admin sign-in
    assert client.get(reverse("admin:market_participant_leaderboard")).status_code == 302

    client.force_login(admin_user)
    for model in pages:
        assert client.get(reverse(f"admin:market_{model}_export")).status_code == 200
        assert client.get(reverse(f"admin:market_{model}_changelist")).status_code == 200


def test_the_transactions_export_keeps_the_changelist_filter(organiser, team, make_company, open_market):
    kopi = make_company("KOPI", "5.00")
    acme = make_company("ACME", "10.00")
    trade_execute(participant=team, company=acme, side="buy", quantity=1)
    trade_execute(participant=team, company=kopi, side="buy", quantity=2)
    data = {"format": FORMATS["csv"], "resource": "0"}
    data.update({f"transactionresource_{name}": "on" for name in TransactionResource().get_export_order()})

    response = organiser.post(reverse("admin:market_transaction_export") + f"?company__id__exact={kopi.pk}", data)

    rows = as_dicts(rows_of(response, "csv"))
    assert [(row["ticker"], row["quantity"]) for row in rows] == [("KOPI", "2")]


def test_times_are_written_in_the_event_time_zone():
    from organisers.cells import event_time

    assert event_time(datetime(2025, 3, 1, 2, 30, 15, 123456, tzinfo=UTC)) == datetime(2025, 3, 1, 9, 30, 15)


@pytest.mark.parametrize(
    ("model", "resource"), [("transaction", TransactionResource), ("participant", ParticipantExportResource)]
)
def test_exports_take_the_same_queries_however_many_rows(organiser, make_team, company, open_market, model, resource):
    def trades(count: int) -> None:
        for _ in range(count):
            trade_execute(participant=make_team(), company=company, side="buy", quantity=1)

    trades(2)
    with CaptureQueriesContext(connection) as few:
        export(organiser, model, resource, "xlsx")
    trades(10)
    with CaptureQueriesContext(connection) as many:
        rows = rows_of(export(organiser, model, resource, "xlsx"), "xlsx")

    assert len(rows) == 1 + 12
    assert len(many) == len(few)
