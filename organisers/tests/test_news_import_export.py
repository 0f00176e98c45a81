"""News comes in from a spreadsheet as drafts, scheduled or published items, through the newsroom
services; it goes out as CSV and XLSX with inert titles and times in the event time zone."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from market.models import AuditEntry
from newsroom.models import News
from newsroom.services import news_create
from organisers.models import Cue
from organisers.resources import NewsResource, import_file

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://x","y")'
FORMATS = {"csv": "0", "xlsx": "1"}


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def import_news(content: bytes, by=None, filename: str = "news.csv") -> dict:
    return import_file(NewsResource, content=content, filename=filename, by=by)


def test_news_imports_as_draft_scheduled_or_published(admin_user, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: sent.append(event))
    content = csv_bytes(
        [
            ["Title", "Content", "Published_At"],
            ["Merger talks", "ACME and KOPI are talking.", ""],
            ["Rates decision", "The central bank decides at noon.", "2099-01-01 12:00"],
            ["Record profit", "KOPI beat every forecast.", "2024-01-01 09:00"],
        ]
    )

    with django_capture_on_commit_callbacks(execute=True):
        report = import_news(content, by=admin_user)

    assert report == {"dry_run": False, "created": 3, "updated": 0, "unchanged": 0, "errors": []}
    statuses = {news.title: news.status for news in News.objects.all()}
    # The item with a time still to come waits as a draft for its run-sheet cue.
    assert statuses == {"Merger talks": "draft", "Rates decision": "draft", "Record profit": "published"}
    cue = Cue.objects.get(action="news")
    assert (cue.news.title, cue.status, cue.at) == ("Rates decision", "planned", "2099-01-01 12:00")
    assert cue.due_at == datetime(2099, 1, 1, 5, 0, tzinfo=UTC)
    published = News.objects.get(title="Record profit")
    assert published.published_at == datetime(2024, 1, 1, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
    assert published.announced_at is not None
    assert News.objects.get(title="Rates decision").announced_at is None
    assert [event["data"]["title"] for event in sent if event["type"] == "news"] == ["Record profit"]
    assert AuditEntry.objects.filter(action="news_create", actor=admin_user).count() == 3


def test_reimporting_updates_by_title_and_never_duplicates(admin_user):
    import_news(csv_bytes([["title", "content"], ["Merger talks", "Rumours."]]), by=admin_user)

    report = import_news(csv_bytes([["title", "content"], ["Merger talks", "Confirmed."]]), by=admin_user)

    assert (report["created"], report["updated"]) == (0, 1)
    assert list(News.objects.values_list("title", "content")) == [("Merger talks", "Confirmed.")]


def test_a_bad_row_imports_nothing_and_is_named(admin_user):
    content = csv_bytes(
        [
            ["title", "content", "published_at"],
            ["Fine", "Fine.", ""],
            ["Bad time", "x", "next Tuesday"],
            ["", "No title", ""],
        ]
    )

    report = import_news(content, by=admin_user)

    assert [(error["row"], error["column"]) for error in report["errors"]] == [(3, "published_at"), (4, "title")]
    assert not News.objects.exists()


def test_an_unknown_id_is_refused(admin_user):
    content = csv_bytes([["id", "title", "content"], ["6b0c1c86-5f0e-4c6e-9d1e-6a1f4f5b9a11", "T", "C"]])

    report = import_news(content, by=admin_user)

    assert [(error["row"], error["column"]) for error in report["errors"]] == [(2, "id")]
    assert not News.objects.exists()


def export(client, kind: str):
    data = {"format": FORMATS[kind], "resource": "0"}
    data.update({f"newsresource_{name}": "on" for name in NewsResource().get_export_order()})
    response = client.post(reverse("admin:newsroom_news_export"), data)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def rows_of(response, kind: str) -> list[dict]:
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_news_exports_with_inert_titles_and_event_times(client, admin_user, kind):
    client.force_login(admin_user)
    when = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    news = news_create(by=None, title=EVIL, content="-1 for everyone", published_at=when)
    news_create(by=None, title="Draft", content="Later.")

    rows = rows_of(export(client, kind), kind)

    assert list(rows[0]) == ["id", "title", "content", "published_at", "status"]
    by_title = {row["title"]: row for row in rows}
    evil = by_title["'" + EVIL]
    assert (evil["id"], evil["content"], evil["status"]) == (str(news.pk), "'-1 for everyone", "published")
    assert evil["published_at"] == ("2025-03-01 09:30:00" if kind == "csv" else datetime(2025, 3, 1, 9, 30))
    assert by_title["Draft"]["published_at"] in ("", None)
    assert by_title["Draft"]["status"] == "draft"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_exported_news_file_imports_back_unchanged(client, admin_user, kind):
    client.force_login(admin_user)
    news_create(by=None, title=EVIL, content="Now.", published_at=timezone.now())  # microseconds and all
    news_create(by=None, title="Later", content="Soon.", published_at=timezone.now() + timedelta(days=1))
    news_create(by=None, title="Draft", content="Maybe.")
    before = sorted(News.objects.values_list("id", "title", "content", "published_at", "announced_at"))

    report = import_news(export(client, kind).content, by=admin_user, filename=f"news.{kind}")

    assert report == {"dry_run": False, "created": 0, "updated": 0, "unchanged": 3, "errors": []}
    assert sorted(News.objects.values_list("id", "title", "content", "published_at", "announced_at")) == before


def test_the_admin_previews_and_imports_news(client, admin_user):
    client.force_login(admin_user)
    file = io.BytesIO(csv_bytes([["TITLE", "Content"], ["Merger talks", "Rumours."]]))
    file.name = "news.csv"

    preview = client.post(reverse("admin:newsroom_news_import"), {"import_file": file, "format": "0"})

    assert preview.status_code == 200
    assert not News.objects.exists()
    done = client.post(reverse("admin:newsroom_news_process_import"), preview.context["confirm_form"].initial)
    assert done.status_code == 302
    assert News.objects.get().status == "draft"
    assert client.get(reverse("admin:newsroom_news_changelist")).status_code == 200


def test_teams_cannot_reach_the_news_import(client, team):
    client.force_login(team.user)

    assert client.get(reverse("admin:newsroom_news_import")).status_code == 302
    assert client.get(reverse("admin:newsroom_news_export")).status_code == 302
