"""`manage.py rehearse_run_sheet FILE [--now …]`: a run sheet checked against the event, its
timeline printed day by day; every bad row listed with exit status 1; never a write."""

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from market import services as market
from market.models import AuditEntry, TradingDay
from organisers.models import Cue, RunSheet
from organisers.runsheet import services

pytestmark = pytest.mark.django_db

HEADER = ["day", "at", "action", "title", "content", "ticker", "price", "change_pct", "scene", "options", "text"]


def day_after(days: int = 1) -> str:
    return f"{timezone.localdate() + timedelta(days=days):%Y-%m-%d}"


def sheet_file(tmp_path, rows: list[list]) -> str:
    path = tmp_path / "run-sheet.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([HEADER, *rows])
    return str(path)


def script(day: int = 2) -> list[list]:
    return [
        [day, f"{day_after()} 09:00", "open", *[""] * 8],
        [day, "09:20", "news", "Acme wins", "A big contract.", *[""] * 6],
        [day, "+01:30:00", "price", "", "", "ACME", "", "-5", "", "", ""],
        [day, "+03:00:00", "close", *[""] * 8],
    ]


def rehearse(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rehearse_run_sheet", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_valid_run_sheet_is_printed_day_by_day_in_event_time(tmp_path, company):
    path = sheet_file(tmp_path, [*script(2), [3, f"{day_after(2)} 09:00", "open", *[""] * 8]])

    out, err = rehearse(path)

    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == "Rehearsing run-sheet.csv as of now (Asia/Jakarta); nothing is written."
    width = len(f"+01:30:00 after the start bell (about {day_after()} 10:30:00)")
    assert lines[1:] == [
        "",
        "Day 2",
        f"  {day_after() + ' 09:00:00':<{width}}  open   Start bell  (row 2)",
        f"  {day_after() + ' 09:20:00':<{width}}  news   Acme wins  (row 3)",
        f"  +01:30:00 after the start bell (about {day_after()} 10:30:00)  price  ACME -5%  (row 4)",
        f"  +03:00:00 after the start bell (about {day_after()} 12:00:00)  close  End bell  (row 5)",
        "",
        "Day 3",
        f"  {day_after(2) + ' 09:00:00':<{width}}  open   Start bell  (row 6)",
        "",
        "Every row is valid: 5 cues for days 2, 3. Importing the file would replace the 0 planned cues of "
        "these days; cues already fired stay.",
    ]
    assert err == ""


def test_every_bad_row_is_listed_and_the_exit_status_is_1(tmp_path, company, capsys):
    market.market_open(by=None)
    market.market_close(by=None)
    path = sheet_file(
        tmp_path,
        [
            *script(2),
            [2, "10:00", "price", "", "", "NOPE", "5", "", "", "", ""],
            [1, f"{day_after()} 10:00", "note", *[""] * 7, "Day 1 is over"],
            [2, "+00:10:00", "dance", *[""] * 8],
        ],
    )

    with pytest.raises(SystemExit) as exit_status:
        ManagementUtility(
            ["manage.py", "rehearse_run_sheet", path, "--skip-checks"]
        ).execute()  # the test settings fail deploy checks

    assert exit_status.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "  row 6, ticker: No company has the ticker 'NOPE'.",
        "  row 7, day: Day 1 has already closed.",
        "  row 8, action: Unknown action 'dance': one of open, close, news, price, scene, note.",
        "CommandError: 3 rows of run-sheet.csv have errors: fix them before importing the file.",
    ]


def test_now_rehearses_as_of_the_events_morning(tmp_path, company):
    path = sheet_file(tmp_path, script(2))

    out, _err = rehearse(path, "--now", f"{day_after()} 07:30")
    assert (
        out.splitlines()[0]
        == f"Rehearsing run-sheet.csv as of {day_after()} 07:30:00 (Asia/Jakarta); nothing is written."
    )
    assert "Every row is valid: 4 cues for day 2." in out

    with pytest.raises(CommandError) as late:
        rehearse(path, "--now", f"{day_after()} 09:10")
    assert str(late.value) == "1 row of run-sheet.csv has errors: fix them before importing the file."


def test_a_time_already_past_today_is_fine_as_of_an_earlier_morning(tmp_path, company):
    earlier = f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}"
    path = sheet_file(tmp_path, [[2, f"{earlier} 09:00", "open", *[""] * 8]])

    with pytest.raises(CommandError):
        rehearse(path)
    out, _err = rehearse(path, "--now", f"{earlier} 07:00")

    assert f"  {earlier} 09:00:00  open   Start bell  (row 2)" in out


@pytest.mark.parametrize("now", ["tomorrow", "09:00", "+00:10:00", "2026-02-30 09:00"])
def test_a_now_that_is_no_date_and_time_is_refused(tmp_path, now):
    with pytest.raises(CommandError) as refused:
        rehearse(sheet_file(tmp_path, script()), "--now", now)

    assert str(refused.value).startswith('--now: write a date and time in event time, like "2026-12-08 07:30"')


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    with pytest.raises(CommandError, match=r"The file is empty\."):
        rehearse(str(empty))
    with pytest.raises(CommandError, match="Cannot read"):
        rehearse(str(tmp_path / "missing.xlsx"))


def test_rehearsing_never_writes_to_the_database(tmp_path, company, admin_user):
    services.cue_create(by=None, raw={"day": 2, "at": f"{day_after()} 08:00", "action": "open"})
    before = (
        list(Cue.objects.values_list("pk", "at", "due_at")),
        AuditEntry.objects.count(),
        TradingDay.objects.count(),
    )
    RunSheet.objects.all().delete()  # a rehearsal does not even create the run sheet's row
    path = sheet_file(tmp_path, script(2))

    with CaptureQueriesContext(connection) as queries:
        out, _err = rehearse(path)

    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE", "REPLACE"}]
    assert writes == []
    assert "Importing the file would replace the 1 planned cues of that day" in out
    assert (
        list(Cue.objects.values_list("pk", "at", "due_at")),
        AuditEntry.objects.count(),
        TradingDay.objects.count(),
    ) == before
    assert not RunSheet.objects.exists()
