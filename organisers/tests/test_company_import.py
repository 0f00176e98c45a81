"""Companies come in from a spreadsheet through the services, all or nothing, bad rows named."""

import csv
import io
import os
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from market.models import AuditEntry, Company, PricePoint
from market.services import trade_execute
from organisers.resources import CompanyResource, import_file
from organisers.spreadsheets import SpreadsheetRefused

pytestmark = pytest.mark.django_db

HEADER = ["ticker", "name", "price", "financials"]


def csv_bytes(rows, *, delimiter=",", bom=False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_companies(content: bytes, filename: str = "companies.csv", by=None, dry_run=False) -> dict:
    return import_file(CompanyResource, content=content, filename=filename, by=by, dry_run=dry_run)


def snapshot() -> tuple:
    """What an import that fails must leave untouched."""
    return (
        sorted(Company.objects.values_list("ticker", "name", "current_price")),
        PricePoint.objects.count(),
        AuditEntry.objects.count(),
    )


def test_mixed_case_headers_and_tickers_create_upper_case_companies(admin_user):
    content = csv_bytes(
        [
            ["Ticker", "NAME", "Price", "Previous Price", "Is_Active", "Description", "FINANCIALS"],
            ["acme", "Acme Corp", "12.50", "12", "TRUE", "Anvils", '{"2024": {"revenue": 1200, "profit": 150}}'],
            ["Kopi", "Kopi Kita", "1820", "", "no", "", ""],
        ]
    )

    report = import_companies(content, by=admin_user)

    assert report == {"dry_run": False, "created": 2, "updated": 0, "unchanged": 0, "errors": []}
    acme = Company.objects.get(ticker="ACME")
    assert (acme.name, acme.current_price, acme.previous_price) == ("Acme Corp", Decimal("12.50"), Decimal("12.00"))
    assert acme.description == "Anvils"
    assert acme.financials == {"2024": {"revenue": 1200, "profit": 150}}
    assert acme.is_active is True
    kopi = Company.objects.get(ticker="KOPI")
    assert (kopi.current_price, kopi.previous_price, kopi.is_active) == (Decimal("1820.00"), Decimal("1820.00"), False)
    assert kopi.financials == {}
    # Through company_create: a history point and an audit entry by the organiser for each.
    assert PricePoint.objects.filter(company__in=[acme, kopi]).count() == 2
    assert AuditEntry.objects.filter(action="company_create", actor=admin_user).count() == 2


def test_reimporting_the_same_file_changes_nothing(admin_user):
    content = csv_bytes(
        [HEADER, ["ACME", "Acme Corp", "12.50", '{"2024": {"revenue": 1}}'], ["KOPI", "Kopi Kita", "3", "{}"]]
    )
    import_companies(content, by=admin_user)
    before = snapshot()

    report = import_companies(content.replace(b"ACME", b"acme"), by=admin_user)

    assert report == {"dry_run": False, "created": 0, "updated": 0, "unchanged": 2, "errors": []}
    assert snapshot() == before
    assert Company.objects.count() == 2


def test_a_changed_price_goes_through_price_set_and_revalues_the_holders(
    admin_user, company, team, other_team, open_market, monkeypatch, django_capture_on_commit_callbacks
):
    trade_execute(participant=team, company=company, side="buy", quantity=100)
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append(event))

    with django_capture_on_commit_callbacks(execute=True):
        report = import_companies(csv_bytes([["ticker", "price"], ["acme", "12.50"]]), by=admin_user)

    assert report["updated"] == 1 and report["errors"] == []
    company.refresh_from_db()
    assert company.current_price == Decimal("12.50")
    assert company.previous_price == Decimal("10.00")  # the last close stays
    point = PricePoint.objects.filter(company=company).latest("at")
    assert (point.price, point.day) == (Decimal("12.50"), 1)
    entry = AuditEntry.objects.get(action="price_set")
    assert entry.actor == admin_user
    assert entry.data == {"old": "10.00", "new": "12.50"}
    team.refresh_from_db()
    other_team.refresh_from_db()
    assert team.portfolio_value == Decimal("100250.00")
    assert other_team.portfolio_value == Decimal("100000.00")  # holds nothing
    prices = [event["data"] for event in sent if event["type"] == "price"]
    assert prices and prices[-1]["ticker"] == "ACME" and prices[-1]["price"] == "12.50"


def test_a_changed_name_goes_through_company_update_without_a_price_change(admin_user, company):
    report = import_companies(csv_bytes([["ticker", "name", "price"], ["ACME", "Acme Anvils", "10.00"]]), by=admin_user)

    assert report["updated"] == 1
    company.refresh_from_db()
    assert company.name == "Acme Anvils"
    assert AuditEntry.objects.get(action="company_update").data == {
        "old": {"name": "Acme"},
        "new": {"name": "Acme Anvils"},
    }
    assert not AuditEntry.objects.filter(action="price_set").exists()
    assert PricePoint.objects.filter(company=company).count() == 1


def test_one_bad_row_among_many_imports_nothing_and_names_each_bad_row_and_column(admin_user, company):
    rows = [HEADER, ["ACME", "Acme", "99.00", "{}"]]
    rows += [[f"NEW{n}", f"New {n}", "5.00", "{}"] for n in range(1, 8)]
    rows[4][2] = "12.345"  # spreadsheet row 5
    rows[7][3] = "[2024, 2025]"  # spreadsheet row 8
    before = snapshot()

    report = import_companies(csv_bytes(rows), by=admin_user)

    assert report["created"] == report["updated"] == 0
    assert [(error["row"], error["column"]) for error in report["errors"]] == [(5, "price"), (8, "financials")]
    assert "more than 2 decimals" in report["errors"][0]["message"]
    assert "not an object" in report["errors"][1]["message"]
    assert snapshot() == before
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")


def test_blank_rows_keep_the_row_numbers_the_organiser_sees(admin_user):
    content = xlsx_bytes([HEADER, ["AAA", "A", "1", ""], [None, None, None, None], ["BBB", "", "2", ""]])

    report = import_companies(content, "companies.xlsx", by=admin_user)

    assert report["errors"] == [{"row": 4, "column": "name", "message": "The name is empty."}]
    assert not Company.objects.exists()


@pytest.mark.parametrize("price", ["0", "0.00", "-5", "abc", "1,50", "12.345", "1e3", "1000000000000"])
def test_a_price_that_is_not_a_positive_amount_with_two_decimals_is_refused(admin_user, price):
    report = import_companies(csv_bytes([HEADER, ["ACME", "Acme", price, ""]]), by=admin_user)

    assert [(error["row"], error["column"]) for error in report["errors"]] == [(2, "price")]
    assert not Company.objects.exists()


@pytest.mark.parametrize("financials", ['"revenue"', "[1, 2]", "12", "{revenue: 1}", '{"a": NaN}'])
def test_financials_must_be_a_json_object(admin_user, financials):
    report = import_companies(csv_bytes([HEADER, ["ACME", "Acme", "10", financials]]), by=admin_user)

    assert [(error["row"], error["column"]) for error in report["errors"]] == [(2, "financials")]
    assert "JSON object" in report["errors"][0]["message"]
    assert not Company.objects.exists()


def test_the_same_ticker_twice_in_one_file_is_refused(admin_user):
    report = import_companies(csv_bytes([HEADER, ["ACME", "A", "1", ""], ["acme", "B", "2", ""]]), by=admin_user)

    assert report["errors"] == [{"row": 3, "column": "ticker", "message": "This is already on row 2."}]
    assert not Company.objects.exists()


def test_a_bad_ticker_is_refused(admin_user):
    report = import_companies(csv_bytes([HEADER, ["AC ME", "A", "1", ""]]), by=admin_user)

    assert [(error["row"], error["column"]) for error in report["errors"]] == [(2, "ticker")]


def test_unknown_and_missing_columns_are_reported_on_the_header_row(admin_user):
    report = import_companies(csv_bytes([["name", "prise"], ["Acme", "10"]]), by=admin_user)

    assert {(error["row"], error["column"]) for error in report["errors"]} == {(1, "prise"), (1, "ticker")}
    assert not Company.objects.exists()


def test_a_bom_and_semicolon_csv_from_excel_is_read(admin_user):
    content = csv_bytes([["Ticker", "Name", "Price"], ["kopi", "Kopi Kita", "1820.50"]], delimiter=";", bom=True)

    report = import_companies(content, by=admin_user)

    assert report["created"] == 1
    assert Company.objects.get(ticker="KOPI").current_price == Decimal("1820.50")


def test_an_xlsx_with_numbers_typed_as_numbers_is_read(admin_user):
    content = xlsx_bytes([["TICKER", "Name", "Price", "is_active"], ["grid", "Surya Grid", 2675.5, True]])

    assert import_companies(content, "prices.xlsx", by=admin_user)["created"] == 1
    assert Company.objects.get(ticker="GRID").current_price == Decimal("2675.50")


def test_random_bytes_named_xlsx_are_refused_and_nothing_imported(admin_user):
    with pytest.raises(SpreadsheetRefused) as refused:
        import_companies(os.urandom(2048), "companies.xlsx", by=admin_user)

    assert "not a spreadsheet we can read" in refused.value.detail
    assert not Company.objects.exists()


def test_an_empty_file_is_refused(admin_user):
    with pytest.raises(SpreadsheetRefused) as refused:
        import_companies(b"", by=admin_user)

    assert refused.value.detail == "The file is empty."
    assert not Company.objects.exists()


def test_a_header_without_rows_imports_nothing_and_says_so(admin_user):
    report = import_companies(csv_bytes([HEADER]), by=admin_user)

    assert report["errors"] == [{"row": 1, "column": None, "message": "The file has no rows below the header."}]


def test_a_dry_run_reports_and_changes_nothing(admin_user, company, django_capture_on_commit_callbacks):
    before = snapshot()

    with django_capture_on_commit_callbacks() as callbacks:
        report = import_companies(
            csv_bytes([HEADER, ["ACME", "Acme", "11", ""], ["NEW", "New", "2", ""]]), dry_run=True
        )

    assert (report["dry_run"], report["created"], report["updated"]) == (True, 1, 1)
    assert snapshot() == before
    assert callbacks == []  # nothing announced


# The admin: upload, preview, confirm.


def upload(client, content: bytes, name: str, file_format: str = "0"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("admin:market_company_import"), {"import_file": file, "format": file_format})


def test_the_admin_previews_then_imports_on_confirmation(client, admin_user, company):
    client.force_login(admin_user)
    content = csv_bytes([["Ticker", "Name", "Price"], ["acme", "Acme", "11.00"], ["new", "Newco", "2.00"]])

    preview = upload(client, content, "companies.csv")

    assert preview.status_code == 200
    assert "Confirm import" in preview.content.decode()
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")  # not yet
    assert not Company.objects.filter(ticker="NEW").exists()

    confirm = preview.context["confirm_form"]
    done = client.post(reverse("admin:market_company_process_import"), confirm.initial)

    assert done.status_code == 302
    company.refresh_from_db()
    assert company.current_price == Decimal("11.00")
    assert Company.objects.get(ticker="NEW").name == "Newco"
    assert AuditEntry.objects.get(action="price_set").actor == admin_user


def test_the_admin_preview_lists_every_bad_row_and_offers_no_confirmation(client, admin_user):
    client.force_login(admin_user)
    content = xlsx_bytes([HEADER, ["AAA", "A", "1", ""], ["BBB", "B", "-1", ""], ["CCC", "C", "2", "[]"]])

    preview = upload(client, content, "companies.xlsx", file_format="1")

    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Confirm import" not in page
    assert "Nothing will be imported" in page
    problems = preview.context["result"].problems()
    assert [(problem["row"], problem["column"]) for problem in problems] == [(3, "price"), (4, "financials")]
    assert not Company.objects.exists()


def test_the_admin_says_why_a_file_cannot_be_read(client, admin_user):
    client.force_login(admin_user)

    preview = upload(client, os.urandom(512), "companies.xlsx", file_format="1")

    assert preview.status_code == 200
    assert "not a spreadsheet we can read" in preview.content.decode()
    assert not Company.objects.exists()
