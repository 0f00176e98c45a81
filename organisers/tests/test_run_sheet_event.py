"""A whole event run from its script (issue: "prepare a three-day script in a spreadsheet, import
it, watch it run, hold it and resume it"): imported through the API, fired by the scheduler day by
day, held and resumed, the teams seeing each news item and price as it fires."""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from market.models import TradingDay
from organisers.models import Cue, RunSheet
from organisers.scheduler import run_due

pytestmark = pytest.mark.django_db

HEADER = ["day", "at", "action", "title", "content", "ticker", "price", "change_pct", "text"]


def at(day: int, clock: str) -> datetime:
    """`clock` on the date of the event's day `day` (day 1 is tomorrow)."""
    date = timezone.localdate() + timedelta(days=day)
    return timezone.make_aware(datetime.strptime(f"{date:%Y-%m-%d} {clock}", "%Y-%m-%d %H:%M"))


def three_days() -> bytes:
    rows = [HEADER]
    for day in (1, 2, 3):
        rows += [
            [day, f"{at(day, '09:00'):%Y-%m-%d %H:%M}", "open", "", "", "", "", "", ""],
            [day, "09:20", "news", f"Day {day} headline", "Rates move.", "", "", "", ""],
            [day, "+00:21:00", "price", "", "", "ACME", "", "10", ""],
            [day, "+00:55:00", "note", "", "", "", "", "", f"Day {day}: five minutes to the bell"],
            [day, "10:00", "close", "", "", "", "", "", ""],
        ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_a_three_day_script_runs_from_import_to_the_last_bell(
    admin_api, team_api, company, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("script.csv", three_days(), content_type="text/csv")
    report = admin_api.post("/api/admin/cues/import", {"file": upload, "dry_run": "false"}, format="multipart")
    assert report.status_code == 200, report.content
    assert report.json()["created"] == 15 and report.json()["errors"] == []
    assert [day.scheduled_open_at for day in TradingDay.objects.order_by("number")] == [
        at(d, "09:00") for d in (1, 2, 3)
    ]

    def tick(moment: datetime) -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            return run_due(moment)

    prices = []
    for day in (1, 2, 3):
        assert tick(at(day, "08:59")) == []
        assert [line.split(" (")[0] for line in tick(at(day, "09:00"))] == ["cue open"]
        assert team_api.get("/api/market").json()["status"] == "open"
        tick(at(day, "09:20"))
        assert team_api.get("/api/news").json()["results"][0]["title"] == f"Day {day} headline"
        if day == 2:  # the hall runs late: hold for ten minutes, then resume
            assert admin_api.post("/api/admin/run-sheet/hold").json()["held"] is True
            assert tick(at(day, "10:30")) == []  # nothing fires by itself while held
            RunSheet.objects.filter(pk=1).update(held_since=timezone.now() - timedelta(minutes=10))
            admin_api.post("/api/admin/run-sheet/resume")
            close = Cue.objects.get(day=2, action="close")
            assert close.due_at == at(2, "10:00") + close.shifted_by
            assert close.shifted_by == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=2))
            assert Cue.objects.get(day=3, action="open").due_at == at(3, "09:00")  # the next day keeps its time
        tick(at(day, "23:00"))  # the rest of the day: the price, the note, the end bell
        prices.append(Decimal(team_api.get("/api/companies/ACME").json()["price"]))
        assert team_api.get("/api/market").json()["status"] == "closed"

    assert prices == [Decimal("11.00"), Decimal("12.10"), Decimal("13.31")]  # +10% a day, each once
    assert set(Cue.objects.values_list("status", flat=True)) == {"fired"}
    assert TradingDay.objects.filter(closed_at__isnull=False).count() == 3
