"""The admin's team import: upload, preview (a dry run), confirm, and the logins sheet once."""

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from market.models import Participant

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/market/participant/import/"
XLSX_FORMAT = "1"  # IMPORT_EXPORT_FORMATS: SafeCSV, SafeXLSX


def workbook(rows: list[list]) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("teams.xlsx", out.getvalue())


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def preview(client: Client, rows: list[list]):
    return client.post(IMPORT_URL, {"format": XLSX_FORMAT, "import_file": workbook(rows)})


def test_the_preview_shows_each_team_and_writes_nothing(organiser, team):
    response = preview(organiser, [["Email", "Team Name"], [team.user.email, "Renamed"], ["q@school.test", "Quails"]])

    assert response.status_code == 200
    page = response.content.decode()
    assert "Quails" in page and "Renamed" in page
    assert response.context["confirm_form"] is not None
    assert Participant.objects.count() == 1
    team.refresh_from_db()
    assert team.display_name == "Bull Riders"


def test_bad_rows_are_listed_by_row_and_nothing_can_be_confirmed(organiser):
    response = preview(organiser, [["email", "team"], ["fine@school.test", "Fine"], ["nope", "Broken"]])

    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    invalid = response.context["result"].invalid_rows
    assert [(row.number, row.error_dict) for row in invalid] == [(3, {"email": ["'nope' is not an e-mail address."]})]
    assert not Participant.objects.exists()


def test_confirming_imports_and_links_the_logins_sheet_once(organiser):
    response = preview(organiser, [["email", "team"], ["r@school.test", "Ravens"], ["s@school.test", "Swans"]])
    confirm = response.context["confirm_form"].initial

    done = organiser.post("/admin/market/participant/process_import/", confirm, follow=True)

    assert done.status_code == 200
    assert set(Participant.objects.values_list("display_name", flat=True)) == {"Ravens", "Swans"}
    messages = [str(message) for message in done.context["messages"]]
    assert any("2 new" in message for message in messages), messages
    link = re.search(r'href="([^"]+credentials/[^"]+)"', " ".join(messages)).group(1)
    sheet = organiser.get(link)
    assert sheet.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content)).active.values)
    assert sorted(row[0] for row in rows[1:]) == ["Ravens", "Swans"]
    assert organiser.get(link).status_code == 404  # shown once


def test_a_file_that_is_not_a_spreadsheet_is_refused_on_the_form(organiser):
    response = organiser.post(
        IMPORT_URL, {"format": XLSX_FORMAT, "import_file": SimpleUploadedFile("teams.xlsx", b"\x00garbage" * 50)}
    )

    assert response.status_code == 200
    assert "not a spreadsheet" in response.content.decode()
    assert not Participant.objects.exists()


def test_a_team_cannot_open_the_import(client, team):
    client.force_login(team.user)

    response = client.get(IMPORT_URL)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_preview_page_names_each_bad_row_and_column(organiser):
    response = preview(organiser, [["email", "team"], ["fine@school.test", "Fine"], ["nope", "Broken"]])

    page = response.content.decode()
    assert "Nothing will be imported" in page
    assert "&#x27;nope&#x27; is not an e-mail address." in page or "'nope' is not an e-mail address." in page
    assert "<td>3</td>" in page.replace(" ", "")


def test_a_confirm_that_fails_says_so_and_imports_nothing(organiser, make_team):
    response = preview(organiser, [["email", "team"], ["t@school.test", "Ravens"]])
    confirm = response.context["confirm_form"].initial
    make_team("Ravens")  # another team takes the name between preview and confirm

    done = organiser.post("/admin/market/participant/process_import/", confirm, follow=True)

    messages = [(message.level_tag, str(message)) for message in done.context["messages"]]
    assert messages == [("error", "Nothing was imported. row 2, display_name: Another team already has this name.")]
    assert not Participant.objects.filter(user__email="t@school.test").exists()


def test_the_logins_of_the_last_import_wait_on_the_team_list_until_downloaded(organiser):
    response = preview(organiser, [["email", "team"], ["u@school.test", "Urchins"]])
    organiser.post("/admin/market/participant/process_import/", response.context["confirm_form"].initial)

    # The answer to the import was lost (a proxy timed out, say): the team list still offers it.
    page = organiser.get("/admin/market/participant/").content.decode()
    link = re.search(r'href="([^"]+credentials/[^"]+)"[^>]*>Logins of your last import', page).group(1)
    assert organiser.get(link).status_code == 200
    assert "Logins of your last import" not in organiser.get("/admin/market/participant/").content.decode()


def test_confirming_twice_imports_once_and_says_so(organiser):
    response = preview(organiser, [["email", "team"], ["r@school.test", "Ravens"]])
    confirm = response.context["confirm_form"].initial
    organiser.post("/admin/market/participant/process_import/", confirm)

    again = organiser.post("/admin/market/participant/process_import/", confirm, follow=True)  # the back button

    assert again.status_code == 200
    messages = [str(message) for message in again.context["messages"]]
    assert any("Nothing was imported by this click" in message for message in messages), messages
    assert Participant.objects.count() == 1
