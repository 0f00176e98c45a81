"""The run sheet in the Django admin: the cues listed, added and changed through the run sheet's
rules and services (errors beside their fields), a done cue kept read-only, and the import page
(a dry run's timeline, then the import)."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from market.models import AuditEntry
from organisers.models import Cue, CueStatus
from organisers.runsheet import services

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/organisers/cue/"
ADD = "/admin/organisers/cue/add/"
IMPORT = "/admin/organisers/cue/import/"
HEADER = ["day", "at", "action", "title", "content", "ticker", "price", "change_pct", "scene", "options", "text"]


def tomorrow() -> str:
    return f"{timezone.localdate() + timedelta(days=1):%Y-%m-%d}"


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def form(**fields) -> dict:
    return {name: "" for name in HEADER} | fields


def cue(**raw):
    return services.cue_create(by=None, raw={"day": 2, **raw})


def page(response) -> str:
    """The page's text as an organiser reads it (tags taken out)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def csv_file(rows: list[list], name: str = "run-sheet.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode())


# The list


def test_the_list_shows_each_cue_in_one_line_with_its_due_time(organiser, company, admin_user):
    cue(at=f"{tomorrow()} 09:00", action="open")
    cue(at="+00:45:00", action="price", ticker="ACME", change_pct="-5")
    skipped = cue(at=f"{tomorrow()} 10:00", action="news", title="Acme wins", content="x")
    services.cue_skip(cue=skipped, by=admin_user, reason="Story pulled")

    response = organiser.get(CHANGELIST)

    assert response.status_code == 200
    text = page(response)
    assert f"{tomorrow()} 09:00:00" in text and "Start bell" in text
    assert "+00:45:00 after the start bell" in text and "ACME -5%" in text
    assert "Acme wins" in text and "Story pulled" in text
    assert "Import run sheet" in text and "Template (.xlsx)" in text and "Export (.csv)" in text


def test_the_list_filters_by_status_and_finds_a_ticker(organiser, company, admin_user):
    cue(at=f"{tomorrow()} 09:30", action="price", ticker="ACME", price="12.00")
    note = cue(at=f"{tomorrow()} 09:40", action="note", text="Welcome the schools")
    services.cue_fire(cue=note, by=admin_user)

    found = organiser.get(CHANGELIST, {"q": "acme"}).context["cl"].result_list
    fired = organiser.get(CHANGELIST, {"status": "fired"}).context["cl"].result_list
    by_text = organiser.get(CHANGELIST, {"q": "schools"}).context["cl"].result_list

    assert [c.action for c in found] == ["price"]
    assert [c.pk for c in fired] == [note.pk]
    assert [c.pk for c in by_text] == [note.pk]


# Adding and changing


def test_an_organiser_adds_a_cue_through_the_run_sheet_service(organiser, company):
    response = organiser.post(ADD, form(day="2", at=f"{tomorrow()} 09:30", action="price", ticker="acme", price="12.5"))

    assert response.status_code == 302
    added = Cue.objects.get()
    assert (added.day, added.at, added.action, added.data) == (
        2,
        f"{tomorrow()} 09:30",
        "price",
        {"ticker": "ACME", "price": "12.50"},
    )
    assert added.due_at is not None and added.status == CueStatus.PLANNED
    assert AuditEntry.objects.filter(action="cue_create", target=f"cue:{added.pk}").exists()


def test_a_cue_the_rules_refuse_is_not_added_and_each_error_is_beside_its_field(organiser, company):
    yesterday = f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}"

    response = organiser.post(
        ADD, form(day="2", at=f"{yesterday} 09:30", action="price", ticker="NOPE", price="12", change_pct="5")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["ticker"] == ["No company has the ticker 'NOPE'."]
    assert errors["price"] == ["Give either a price or a change in % (change_pct), not both."]
    assert "Please correct the errors below." in page(response)
    assert not Cue.objects.exists()

    response = organiser.post(ADD, form(day="2", at=f"{yesterday} 09:30", action="note", text="Hello"))

    assert response.context["adminform"].form.errors["at"] == [f"{yesterday} 09:30:00 has already passed."]
    assert not Cue.objects.exists()


def test_an_organiser_changes_a_planned_cue_and_it_is_audited(organiser, company):
    planned = cue(at=f"{tomorrow()} 09:30", action="news", title="Draft", content="x")
    url = f"/admin/organisers/cue/{planned.pk}/change/"
    assert organiser.get(url).context["adminform"].form.initial["title"] == "Draft"

    response = organiser.post(url, form(day="2", at="+01:00:00", action="news", title="Final", content="The story."))

    assert response.status_code == 302
    planned.refresh_from_db()
    assert (planned.at, planned.data, planned.due_at) == (
        "+01:00:00",
        {"title": "Final", "content": "The story."},
        None,
    )
    entry = AuditEntry.objects.get(action="cue_update")
    assert entry.data["old"]["title"] == "Draft"


def test_a_change_that_closes_a_day_before_it_opens_is_refused(organiser):
    cue(at=f"{tomorrow()} 10:00", action="open")
    close = cue(at=f"{tomorrow()} 16:00", action="close")

    response = organiser.post(
        f"/admin/organisers/cue/{close.pk}/change/", form(day="2", at=f"{tomorrow()} 09:00", action="close")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["at"] == [
        f"Day 2 would close ({tomorrow()} 09:00:00) before it opens ({tomorrow()} 10:00:00)."
    ]
    close.refresh_from_db()
    assert close.at == f"{tomorrow()} 16:00"


def test_a_second_start_bell_for_a_day_is_refused(organiser):
    cue(at=f"{tomorrow()} 09:00", action="open")

    response = organiser.post(ADD, form(day="2", at=f"{tomorrow()} 10:00", action="open"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["action"] == [
        f"Day 2 already opens at {tomorrow()} 09:00 (another planned cue)."
    ]
    assert Cue.objects.count() == 1


def test_a_fired_cue_is_read_only_and_cannot_be_deleted(organiser, admin_user):
    note = cue(at=f"{tomorrow()} 10:00", action="note", text="Welcome")
    services.cue_fire(cue=note, by=admin_user)
    url = f"/admin/organisers/cue/{note.pk}/change/"

    response = organiser.get(url)

    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    text = page(response)
    assert "Welcome" in text and "Fired" in text
    assert organiser.post(url, form(day="2", at="+00:10:00", action="note", text="Changed")).status_code == 403
    assert organiser.post(f"/admin/organisers/cue/{note.pk}/delete/", {"post": "yes"}).status_code == 403
    note.refresh_from_db()
    assert (note.status, note.data) == (CueStatus.FIRED, {"text": "Welcome"})


def test_deleting_goes_through_the_service_and_leaves_done_cues(organiser, admin_user):
    planned = cue(at=f"{tomorrow()} 10:00", action="note", text="Planned")
    fired = cue(at=f"{tomorrow()} 10:05", action="note", text="Fired")
    services.cue_fire(cue=fired, by=admin_user)
    selected = {"action": "delete_planned", "_selected_action": [str(planned.pk), str(fired.pk)]}

    confirm = organiser.post(CHANGELIST, selected)
    assert confirm.status_code == 200
    assert "1 of the selected cues are no longer planned" in page(confirm)

    organiser.post(CHANGELIST, {**selected, "post": "yes"})

    assert list(Cue.objects.values_list("pk", flat=True)) == [fired.pk]
    assert [entry.data["old"]["text"] for entry in AuditEntry.objects.filter(action="cue_delete")] == ["Planned"]


# The import page


def test_the_import_page_shows_the_dry_runs_timeline_then_imports(organiser, company):
    old = cue(at=f"{tomorrow()} 08:00", action="note", text="Old plan")
    rows = [
        HEADER,
        [2, f"{tomorrow()} 09:00", "open", *[""] * 8],
        [2, "+00:30:00", "price", "", "", "ACME", "", "5", "", "", ""],
        [2, "09:10", "news", "Acme wins", "A big contract.", *[""] * 6],
    ]

    checked = organiser.post(IMPORT, {"file": csv_file(rows)})

    assert checked.status_code == 200
    text = page(checked)
    assert "run-sheet.csv: every row is valid" in text
    assert "creates 3 cues for day 2, replacing the 1 planned cue of that day" in text
    assert f"{tomorrow()} 09:10:00" in text and "Acme wins" in text
    assert f"about {tomorrow()} 09:30:00, if the start bell rings on time" in text
    assert list(Cue.objects.values_list("pk", flat=True)) == [old.pk]  # a dry run: nothing yet

    done = organiser.post(IMPORT, {"token": checked.context["token"]}, follow=True)

    assert "Run sheet imported: 3 cues for day 2; 1 planned cues of that day were replaced." in page(done)
    assert sorted(Cue.objects.values_list("action", flat=True)) == ["news", "open", "price"]


def test_the_import_page_lists_every_bad_row_and_imports_nothing(organiser, company):
    rows = [HEADER, [2, "+00:30:00", "price", "", "", "NOPE", "5", "", "", "", ""], [2, "soon", "note", *[""] * 8]]

    response = organiser.post(IMPORT, {"file": csv_file(rows)})

    assert response.status_code == 200
    assert "token" not in response.context
    assert [(p["row"], p["column"]) for p in response.context["problems"]] == [(2, "ticker"), (3, "at"), (3, "text")]
    text = page(response)
    assert "Nothing was imported from run-sheet.csv" in text and "No company has the ticker 'NOPE'." in text
    assert not Cue.objects.exists()


def test_the_import_page_refuses_a_file_that_is_no_spreadsheet(organiser):
    response = organiser.post(IMPORT, {"file": SimpleUploadedFile("run-sheet.xlsx", b"PK\x03\x04garbage")})

    assert response.status_code == 200
    assert "This file is not a spreadsheet we can read" in page(response)


def test_a_checked_file_is_imported_only_by_the_organiser_who_checked_it(organiser, company, django_user_model):
    checked = organiser.post(IMPORT, {"file": csv_file([HEADER, [2, f"{tomorrow()} 09:00", "open", *[""] * 8]])})
    other = Client()
    other.force_login(django_user_model.objects.create_superuser(email="other@event.test", password="x-password-1"))

    response = other.post(IMPORT, {"token": checked.context["token"]}, follow=True)

    assert "The checked file has expired: upload it again." in page(response)
    assert not Cue.objects.exists()


def test_the_template_and_the_export_download_from_the_admin(organiser, company):
    template = organiser.get("/admin/organisers/cue/template.xlsx")
    export = organiser.get("/admin/organisers/cue/export.csv")

    assert template.status_code == 200
    assert template["Content-Disposition"] == 'attachment; filename="run-sheet-template.xlsx"'
    assert export.content.decode("utf-8-sig").splitlines()[0] == ",".join(
        [*HEADER, "status", "due_at", "fired_at", "reason"]
    )
    assert organiser.get("/admin/organisers/cue/export.pdf").status_code == 404


def test_a_team_cannot_open_the_run_sheet_admin(client, team):
    client.force_login(team.user)

    for url in (CHANGELIST, IMPORT, "/admin/organisers/cue/template.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
