"""The run sheet from a spreadsheet (SPEC §6b): every action and form of time read from a file,
all-or-nothing with every bad row reported, the dry run's timeline, re-imports, the export and
the template, through the service and the API."""

import csv
import io
from datetime import datetime, time, timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from market import services as market
from market.models import AuditEntry, TradingDay
from market.tests.helpers import assert_problem
from organisers.imports import ImportInvalid
from organisers.models import Cue, CueStatus
from organisers.runsheet import services
from organisers.runsheet.sheet import run_sheet_import
from organisers.spreadsheets import SpreadsheetRefused

pytestmark = pytest.mark.django_db

IMPORT_URL = "/api/admin/cues/import"
HEADER = ["day", "at", "action", "title", "content", "ticker", "price", "change_pct", "scene", "options", "text"]


def tomorrow() -> str:
    return f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"


def event(text: str) -> datetime:
    return timezone.make_aware(datetime.strptime(text, "%Y-%m-%d %H:%M"))


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode()


def row(day=2, at="", action="", **data) -> list:
    return [day, at, action, *(data.get(name, "") for name in HEADER[3:])]


def good_day(day: int = 2) -> list[list]:
    """A day's script that imports: one row of each action, every form of time."""
    return [
        row(day, f"{tomorrow()} 09:00", "open"),
        row(day, "09:20", "news", title="Acme wins a contract", content="A big one."),
        row(day, "09:21", "price", ticker="ACME", price="12.50"),
        row(day, "+01:30:00", "price", ticker="ACME", change_pct="-5"),
        row(day, "09:05", "scene", scene="leaderboard", options='{"top": 5}'),
        row(day, "+02:45:00", "note", text="15 minutes to the end bell."),
        row(day, "+03:00:00", "close"),
    ]


def script() -> list[tuple]:
    return [(cue.day, cue.at, cue.action, cue.data, cue.status) for cue in Cue.objects.order_by("position")]


def upload(content: bytes, name: str = "run-sheet.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def refusal_of(content: bytes, filename: str = "run-sheet.xlsx") -> ImportInvalid:
    with pytest.raises(ImportInvalid) as caught:
        run_sheet_import(content=content, filename=filename)
    return caught.value


def errors_at(refusal) -> list[tuple[int, str]]:
    return [(error["row"], error["column"]) for error in refusal.errors]


# What a file may hold


def test_every_action_and_every_form_of_time_is_read_from_an_xlsx(company):
    day = timezone.localdate() + timedelta(days=1)
    content = xlsx(
        [
            ["Day", "Time", "ACTION", "Title", "Body", "Ticker", "Price", "Change %", "Scene", "Options", "Note"],
            [2, datetime(day.year, day.month, day.day, 9, 0), "Open", *[""] * 8],  # a date-time cell
            [2, time(9, 20), "news", "Acme wins a contract", "A big one.", *[""] * 6],  # a time cell
            [2, "09:21", "PRICE", "", "", "acme", 12.5, "", "", "", ""],
            [2, "+1:30", "price", "", "", "ACME", "", -5, "", "", ""],
            [2, "09:05", "scene", "", "", "", "", "", "Leaderboard", '{"top": 5}', ""],
            [2, "+02:45:00", "note", *[""] * 7, "15 minutes to the end bell."],
            [2, "+03:00:00", "close", *[""] * 8],
        ]
    )

    report = run_sheet_import(content=content, filename="run-sheet.xlsx")

    assert (report.created, report.as_dict()["updated"], report.errors) == (7, 0, [])
    assert script() == [
        (2, f"{day:%Y-%m-%d} 09:00", "open", {}, "planned"),
        (2, "09:20", "news", {"title": "Acme wins a contract", "content": "A big one."}, "planned"),
        (2, "09:21", "price", {"ticker": "ACME", "price": "12.50"}, "planned"),
        (2, "+01:30:00", "price", {"ticker": "ACME", "change_pct": "-5"}, "planned"),
        (2, "09:05", "scene", {"scene": "leaderboard", "options": {"top": 5}}, "planned"),
        (2, "+02:45:00", "note", {"text": "15 minutes to the end bell."}, "planned"),
        (2, "+03:00:00", "close", {}, "planned"),
    ]
    due = {cue.at: cue.due_at for cue in Cue.objects.all()}
    assert due[f"{day:%Y-%m-%d} 09:00"] == event(f"{day:%Y-%m-%d} 09:00")
    assert due["09:20"] == event(f"{day:%Y-%m-%d} 09:20")  # a clock time: on the date of the day's open
    assert due["+01:30:00"] is None  # an offset: when its bell rings
    trading_day = TradingDay.objects.get(number=2)
    assert trading_day.scheduled_open_at == event(f"{day:%Y-%m-%d} 09:00")
    entry = AuditEntry.objects.get(action="run_sheet_import")
    assert (entry.data["created"], entry.data["replaced"], entry.data["days"]) == (7, 0, [2])


def test_the_same_script_as_a_csv_with_semicolons_is_read(company):
    content = csv_bytes([HEADER, *good_day()], delimiter=";")

    report = run_sheet_import(content=content, filename="run-sheet.csv")

    assert report.created == 7
    assert [cue[2] for cue in script()] == ["open", "news", "price", "price", "scene", "note", "close"]


def test_the_organisers_own_columns_and_blank_lines_are_left_alone(company):
    content = csv_bytes(
        [
            [*HEADER, "who"],
            [*row(2, f"{tomorrow()} 09:00", "open"), "Dewi"],
            [""] * 12,
            [*row("", "", ""), "remember the microphones"],
            [*row(2, "09:20", "note", text="Welcome"), "Budi"],
        ]
    )

    report = run_sheet_import(content=content, filename="run-sheet.csv")

    assert report.created == 2
    assert [(cue[1], cue[2]) for cue in script()] == [(f"{tomorrow()} 09:00", "open"), ("09:20", "note")]


# All or nothing


def test_one_bad_row_among_good_ones_imports_nothing_and_every_bad_row_is_reported(company):
    market.market_open(by=None)  # day 1 opens…
    market.market_close(by=None)  # …and closes
    yesterday = f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}"
    content = xlsx(
        [
            HEADER,
            *good_day(),  # rows 2 to 8
            row(2, "10:00", "price", ticker="NOPE", price="5"),  # 9
            row(2, "10:05", "bell"),  # 10
            row(2, "10:10", "price", ticker="ACME", price="0"),  # 11
            row(3, f"{tomorrow()} 15:00", "open"),  # 12
            row(3, f"{tomorrow()} 14:00", "close"),  # 13: before its open
            row(4, f"{yesterday} 09:00", "note", text="Too late"),  # 14
            row(1, f"{tomorrow()} 10:00", "note", text="Day 1 is over"),  # 15
        ]
    )

    refusal = refusal_of(content)

    assert refusal.code == "import_invalid" and refusal.status == 400
    assert refusal.detail == "6 rows of the file have errors; nothing was imported."
    messages = {(error["row"], error["column"]): error["message"] for error in refusal.errors}
    assert messages == {
        (9, "ticker"): "No company has the ticker 'NOPE'.",
        (10, "action"): "Unknown action 'bell': one of open, close, news, price, scene, note.",
        (11, "price"): "The price must be above 0, at most 999,999,999,999.99, in cents.",
        (13, "at"): f"Day 3 would close ({tomorrow()} 14:00:00) before it opens ({tomorrow()} 15:00:00).",
        (14, "at"): f"{yesterday} 09:00:00 has already passed.",
        (15, "day"): "Day 1 has already closed.",
    }
    assert errors_at(refusal) == [(9, "ticker"), (10, "action"), (11, "price"), (13, "at"), (14, "at"), (15, "day")]
    assert refusal.extra["dry_run"] is False and refusal.extra["created"] == 0
    assert not Cue.objects.exists()
    assert not AuditEntry.objects.filter(action="run_sheet_import").exists()


def test_an_offset_already_past_on_the_open_day_is_refused_not_fired_again(admin_user, company):
    market.market_open(by=None, now=timezone.now() - timedelta(hours=2))  # day 1 rang two hours ago
    content = csv_bytes(
        [
            HEADER,
            row(1, "+00:30:00", "price", ticker="ACME", change_pct="5"),  # already done, in the organiser's file
            row(1, "+03:00:00", "note", text="Still to come"),
        ]
    )

    refusal = refusal_of(content, "run-sheet.csv")

    bell = TradingDay.objects.get(number=1).opened_at
    passed = timezone.localtime(bell + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    assert [(e["row"], e["column"], e["message"]) for e in refusal.errors] == [
        (2, "at", f"{passed} (+00:30:00 after day 1's start bell) has already passed.")
    ]
    assert not Cue.objects.exists()


def test_a_day_opened_or_closed_twice_is_refused_on_the_second_row(company):
    content = csv_bytes(
        [
            HEADER,
            row(2, f"{tomorrow()} 09:00", "open"),
            row(2, f"{tomorrow()} 10:00", "open"),
            row(2, "+03:00:00", "close"),
            row(2, "15:00", "close"),
        ]
    )

    refusal = refusal_of(content, "run-sheet.csv")

    assert [(e["row"], e["column"], e["message"]) for e in refusal.errors] == [
        (3, "action", "Day 2 already opens on row 2."),
        (5, "action", "Day 2 already closes on row 4."),
    ]
    assert not Cue.objects.exists()


def test_missing_columns_and_a_column_given_twice_are_reported_on_row_1():
    content = csv_bytes([["Day", "Time", "When", "Title"], ["2", "09:00", "09:00", "Hello"]])

    refusal = refusal_of(content, "run-sheet.csv")

    assert [(e["row"], e["column"], e["message"]) for e in refusal.errors] == [
        (1, "at", "Two columns mean \"at\" ('Time' and 'When'): keep one."),
        (1, "action", "No action column. Accepted headers: action."),
    ]


def test_an_empty_file_and_a_header_without_cues_are_clear_errors():
    with pytest.raises(SpreadsheetRefused) as empty:
        run_sheet_import(content=b"", filename="run-sheet.csv")
    assert empty.value.detail == "The file is empty."

    refusal = refusal_of(csv_bytes([HEADER, [""] * len(HEADER)]), "run-sheet.csv")

    assert refusal.errors == [{"row": 2, "column": "action", "message": "The sheet has a header but no cue to import."}]


@pytest.mark.parametrize(
    "cells, column, message",
    [
        ({"day": "Infinity"}, "day", "Write the day's number: 1, 2, 3…"),
        ({"day": "1e999999999"}, "day", "Write the day's number: 1, 2, 3…"),
        ({"options": '{"top": NaN}'}, "options", 'The options are a JSON object, e.g. {"top": 5}.'),
        ({"options": '{"a":' * 5000}, "options", 'The options are a JSON object, e.g. {"top": 5}.'),
        ({"at": "25:00"}, "at", "'25:00' is not a time of day."),
        ({"scene": "dance floor"}, "scene", "The scene is one of market, leaderboard, news"),
    ],
)
def test_cells_only_a_file_can_hold_are_refused_with_a_reason(cells, column, message):
    header = ["day", "at", "action", "scene", "options"]
    values = {"day": "2", "at": "+00:10:00", "action": "scene", "scene": "market", "options": "", **cells}
    content = csv_bytes([header, [values[name] for name in header]])

    refusal = refusal_of(content, "run-sheet.csv")

    assert errors_at(refusal) == [(2, column)]
    assert refusal.errors[0]["message"].startswith(message)


# The dry run


def test_a_dry_run_shows_the_timeline_and_writes_nothing(company):
    content = xlsx([HEADER, *good_day()])
    audited = AuditEntry.objects.count()

    report = run_sheet_import(content=content, filename="run-sheet.xlsx", dry_run=True)

    body = report.as_dict()
    assert (body["dry_run"], body["created"], body["updated"], body["replaced"], body["errors"]) == (
        True,
        7,
        0,
        0,
        [],
    )
    assert body["timeline"] == [
        {"row": 2, "day": 2, "at": f"{tomorrow()} 09:00", "due_at": f"{tomorrow()} 09:00:00",
         "expected_at": f"{tomorrow()} 09:00:00", "action": "open", "summary": "Start bell"},
        {"row": 6, "day": 2, "at": "09:05", "due_at": f"{tomorrow()} 09:05:00",
         "expected_at": f"{tomorrow()} 09:05:00", "action": "scene", "summary": 'leaderboard {"top": 5}'},
        {"row": 3, "day": 2, "at": "09:20", "due_at": f"{tomorrow()} 09:20:00",
         "expected_at": f"{tomorrow()} 09:20:00", "action": "news", "summary": "Acme wins a contract"},
        {"row": 4, "day": 2, "at": "09:21", "due_at": f"{tomorrow()} 09:21:00",
         "expected_at": f"{tomorrow()} 09:21:00", "action": "price", "summary": "ACME to 12.50"},
        {"row": 5, "day": 2, "at": "+01:30:00", "due_at": "",
         "expected_at": f"{tomorrow()} 10:30:00", "action": "price", "summary": "ACME -5%"},
        {"row": 7, "day": 2, "at": "+02:45:00", "due_at": "",
         "expected_at": f"{tomorrow()} 11:45:00", "action": "note", "summary": "15 minutes to the end bell."},
        {"row": 8, "day": 2, "at": "+03:00:00", "due_at": "",
         "expected_at": f"{tomorrow()} 12:00:00", "action": "close", "summary": "End bell"},
    ]  # fmt: skip
    assert not Cue.objects.exists()
    assert not TradingDay.objects.exists()
    assert AuditEntry.objects.count() == audited


# Importing again


def test_a_reimport_replaces_the_planned_cues_of_the_days_named_and_keeps_the_fired_ones(admin_user, company):
    later = f"{tomorrow()} 16:00"
    old_news = services.cue_create(
        by=None, raw={"day": 2, "at": later, "action": "news", "title": "Old", "content": "x"}
    )
    fired = services.cue_create(by=None, raw={"day": 2, "at": later, "action": "note", "text": "Done already"})
    services.cue_fire(cue=fired, by=admin_user)
    other_day = services.cue_create(by=None, raw={"day": 3, "at": later, "action": "note", "text": "Day 3 stays"})

    report = run_sheet_import(content=xlsx([HEADER, *good_day()]), filename="run-sheet.xlsx", by=admin_user)

    assert (report.created, report.replaced, report.days) == (7, 1, [2])
    assert not Cue.objects.filter(pk=old_news.pk).exists()
    assert Cue.objects.get(pk=fired.pk).status == CueStatus.FIRED
    assert Cue.objects.get(pk=other_day.pk).data == {"text": "Day 3 stays"}
    assert Cue.objects.filter(day=2, status=CueStatus.PLANNED).count() == 7
    assert Cue.objects.count() == 9


def test_a_file_that_drops_a_days_planned_bell_says_so(company):
    services.cue_create(by=None, raw={"day": 2, "at": f"{tomorrow()} 09:00", "action": "open"})

    report = run_sheet_import(
        content=csv_bytes([HEADER, row(2, f"{tomorrow()} 10:00", "note", text="Hello")]),
        filename="run-sheet.csv",
        dry_run=True,
    )

    assert report.warnings == [
        f"Day 2: the file has no open row, so its planned start bell ({tomorrow()} 09:00:00) is removed; "
        "add a open row, or ring it by hand."
    ]
    assert report.replaced == 1


# Export and template


def export(api: APIClient, file_format: str) -> list[list]:
    response = api.get("/api/admin/cues/export", {"format": file_format})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="run-sheet-')
    assert response["Content-Disposition"].endswith(f'.{file_format}"')
    if file_format == "csv":
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert not [cell.coordinate for cells in sheet.iter_rows() for cell in cells if cell.data_type == "f"]
    return [[cell.value for cell in cells] for cells in sheet.iter_rows()]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_export_is_formula_safe_and_imports_back(admin_api, admin_user, company, file_format):
    at = f"{tomorrow()} 09:30"
    services.cue_create(
        by=None,
        raw={"day": 2, "at": at, "action": "news", "title": '=HYPERLINK("http://evil.test","Click")', "content": "x"},
    )
    services.cue_create(
        by=None, raw={"day": 2, "at": "+00:45:00", "action": "price", "ticker": "ACME", "change_pct": "-5"}
    )
    note = services.cue_create(by=None, raw={"day": 2, "at": at, "action": "note", "text": "@SUM(A1)"})
    services.cue_skip(cue=note, by=admin_user, reason="Not needed")

    rows = export(admin_api, file_format)

    assert rows[0] == [*HEADER, "status", "due_at", "fired_at", "reason"]
    by_action = {line[2]: line for line in rows[1:]}
    assert by_action["news"][3] == '\'=HYPERLINK("http://evil.test","Click")'
    assert by_action["note"][10] == "'@SUM(A1)"
    assert by_action["note"][11:13] == ["skipped", f"{tomorrow()} 09:30:00"]
    assert by_action["note"][14] == "Not needed"
    if file_format == "xlsx":
        assert by_action["price"][1] == "+00:45:00"  # stored as text: no apostrophe needed
        assert by_action["price"][7] == -5  # a number, not a formula
    else:
        assert by_action["price"][1] == "'+00:45:00"
        assert by_action["price"][7] == "-5"

    # The export imports back: the skipped row is the record, passed over; the others replace themselves.
    exported = admin_api.get("/api/admin/cues/export", {"format": file_format}).content
    answer = admin_api.post(IMPORT_URL, {"file": upload(exported, f"export.{file_format}")}, format="multipart")

    assert answer.status_code == 200, answer.json()
    assert (answer.json()["created"], answer.json()["replaced"], answer.json()["passed_over"]) == (2, 2, 1)
    news = Cue.objects.get(action="news")
    assert news.data["title"] == '=HYPERLINK("http://evil.test","Click")'
    assert Cue.objects.get(action="price").at == "+00:45:00"
    assert Cue.objects.get(action="note").status == CueStatus.SKIPPED


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_template_imports_as_it_is(admin_api, make_company, file_format):
    make_company("BETA", "20.00")
    make_company("ACME", "10.00")
    market.market_open(by=None)
    market.market_close(by=None)  # day 1 is over: the template's day is the next

    template = admin_api.get("/api/admin/cues/template", {"format": file_format} if file_format == "csv" else {})
    assert template.status_code == 200
    assert template["Content-Disposition"] == f'attachment; filename="run-sheet-template.{file_format}"'

    answer = admin_api.post(
        IMPORT_URL, {"file": upload(template.content, f"template.{file_format}")}, format="multipart"
    )

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["created"], body["errors"], body["days"]) == (7, [], [2])
    assert [(line["at"], line["action"], line["summary"]) for line in body["timeline"]] == [
        (f"{tomorrow()} 09:00", "open", "Start bell"),
        ("09:05", "scene", 'leaderboard {"top": 10}'),
        ("09:20", "news", "Acme wins a large government contract"),
        ("09:21", "price", "ACME to 12.50"),
        ("+01:30:00", "price", "ACME -5%"),
        ("+02:45:00", "note", "Tell the teams: 15 minutes to the end bell."),
        ("+03:00:00", "close", "End bell"),
    ]
    assert Cue.objects.filter(day=2).count() == 7


def test_the_xlsx_template_explains_its_columns(admin_api, company):
    book = openpyxl.load_workbook(io.BytesIO(admin_api.get("/api/admin/cues/template").content))

    assert book.sheetnames == ["Run sheet", "How to fill it"]
    assert [cell.value for cell in book["Run sheet"][1]] == HEADER
    assert book["Run sheet"]["B2"].number_format == "@"  # a time typed in the `at` column stays as typed
    explained = [line[0].value for line in book["How to fill it"].iter_rows(min_row=2)]
    assert explained[:4] == ["day", "at", "action", "title, content"]


# The API


def test_the_api_imports_and_answers_the_report(admin_api, company):
    answer = admin_api.post(
        IMPORT_URL,
        {"file": upload(csv_bytes([HEADER, *good_day()]), "run-sheet.csv"), "dry_run": "true"},
        format="multipart",
    )

    assert answer.status_code == 200
    body = answer.json()
    assert (body["dry_run"], body["created"], body["updated"], body["errors"]) == (True, 7, 0, [])
    assert len(body["timeline"]) == 7
    assert not Cue.objects.exists()

    answer = admin_api.post(
        IMPORT_URL, {"file": upload(csv_bytes([HEADER, *good_day()]), "run-sheet.csv")}, format="multipart"
    )

    assert answer.status_code == 200
    assert answer.json()["dry_run"] is False
    assert Cue.objects.count() == 7
    assert admin_api.get("/api/admin/cues").json()["count"] == 7


def test_a_bad_file_answers_import_invalid_with_every_bad_row(admin_api, company):
    content = csv_bytes(
        [HEADER, *good_day(), row(2, "10:00", "price", ticker="NOPE", price="5"), row(2, "x", "note", text="y")]
    )

    answer = admin_api.post(IMPORT_URL, {"file": upload(content, "run-sheet.csv")}, format="multipart")

    body = assert_problem(answer, 400, "import_invalid")
    assert [(error["row"], error["column"]) for error in body["errors"]] == [(9, "ticker"), (10, "at")]
    assert body["dry_run"] is False and body["created"] == 0
    assert not Cue.objects.exists()


@pytest.mark.parametrize(
    "content, name, code, detail",
    [
        (b"", "run-sheet.csv", "validation_error", "The submitted file is empty."),
        (b"PK\x03\x04 not really a zip", "run-sheet.xlsx", "import_unreadable", "This file is not a spreadsheet"),
        (b"\x00\x01\x02", "run-sheet.csv", "import_unreadable", "This file is not a spreadsheet"),
        (b"%PDF-1.4", "run-sheet.pdf", "import_invalid", "No day column"),
    ],
)
def test_a_file_that_is_no_run_sheet_answers_a_problem_not_a_crash(admin_api, content, name, code, detail):
    answer = admin_api.post(IMPORT_URL, {"file": upload(content, name)}, format="multipart")

    body = assert_problem(answer, 400, code)
    assert detail in str(body["detail"]) + str(body.get("errors"))
    assert not Cue.objects.exists()


def test_an_unknown_download_format_is_a_validation_error(admin_api):
    assert_problem(admin_api.get("/api/admin/cues/export", {"format": "pdf"}), 400, "validation_error")
    assert_problem(admin_api.get("/api/admin/cues/template", {"format": "ods"}), 400, "validation_error")


@pytest.mark.parametrize(
    "method, url",
    [("post", IMPORT_URL), ("get", "/api/admin/cues/export"), ("get", "/api/admin/cues/template")],
)
def test_a_team_is_refused_and_an_anonymous_client_must_sign_in(team_api, api, company, method, url):
    data = {"file": upload(csv_bytes([HEADER, *good_day()]), "run-sheet.csv")} if method == "post" else {}

    assert_problem(getattr(team_api, method)(url, data, format="multipart" if data else None), 403, "permission_denied")
    assert getattr(api, method)(url, data, format="multipart" if data else None).status_code == 401
    assert not Cue.objects.exists()
