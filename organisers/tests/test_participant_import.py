"""Teams from a spreadsheet (SPEC §6), through the service, the API and the command."""

import io
import os
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from common.problems import DomainError
from conftest import TEAM_PASSWORD
from market import services
from market.models import AuditEntry, Participant
from market.tests.helpers import assert_problem
from organisers.imports import ImportInvalid, participants_import
from organisers.spreadsheets import SpreadsheetRefused

pytestmark = pytest.mark.django_db


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], *, delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join(str(cell) for cell in row) for row in rows) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


def teams() -> dict[str, Participant]:
    return {team.user.email: team for team in Participant.objects.select_related("user")}


def errors_of(refusal: DomainError) -> list[tuple[int, str]]:
    return sorted((error["row"], error["column"]) for error in refusal.errors)


def can_sign_in(email: str, password: str) -> bool:
    response = Client().post("/signin/", {"username": email, "password": password})
    return response.status_code == 302


# What a file may look like


def test_mixed_case_and_aliased_headers_are_understood(event_settings):
    content = xlsx(
        [
            ["E-Mail", "Team Name", "SCHOOL", "Password", "Starting Cash"],
            ["ana@school.test", "Bull Riders", "SMA 1", "river-lantern-42", 250000],
            ["budi@school.test", "Bear Necessities", "SMA 2", "", ""],
        ]
    )

    report = participants_import(content=content, filename="teams.xlsx")

    assert (report.created, report.updated, report.errors) == (2, 0, [])
    imported = teams()
    assert imported["ana@school.test"].display_name == "Bull Riders"
    assert imported["ana@school.test"].school == "SMA 1"
    assert imported["ana@school.test"].cash == Decimal("250000.00")
    assert imported["ana@school.test"].starting_cash == Decimal("250000.00")
    assert imported["budi@school.test"].cash == event_settings.starting_cash  # empty: the event's
    assert imported["ana@school.test"].user.role == Role.PARTICIPANT


def test_a_csv_with_a_bom_and_semicolons_is_read():
    content = csv_bytes(
        [["email", "team", "school"], ["cici@school.test", "Ünïcode Üsers", "SMA Ø"], ["dodi@school.test", "Dodo", ""]],
        delimiter=";",
        bom=True,
    )

    report = participants_import(content=content, filename="teams.csv")

    assert report.created == 2
    assert teams()["cici@school.test"].display_name == "Ünïcode Üsers"


def test_generated_passwords_let_the_teams_sign_in_and_are_shown_once():
    content = xlsx([["email", "team"], ["eka@school.test", "Eagles"], ["fani@school.test", "Falcons"]])

    report = participants_import(content=content, filename="teams.xlsx")

    logins = {row.email: row.password for row in report.credentials}
    assert set(logins) == {"eka@school.test", "fani@school.test"}
    assert all(row.generated for row in report.credentials)
    assert len(set(logins.values())) == 2
    for email, password in logins.items():
        assert len(password) >= 10
        assert can_sign_in(email, password)
    # Only hashes are stored.
    assert not User.objects.filter(password__in=list(logins.values())).exists()


def test_reimporting_the_same_file_updates_and_never_duplicates():
    content = xlsx([["email", "team", "school"], ["gita@school.test", "Geckos", "SMA 7"]])
    first = participants_import(content=content, filename="teams.xlsx")
    password = first.credentials[0].password

    again = participants_import(content=content, filename="teams.xlsx")

    assert (again.created, again.updated) == (0, 1)
    assert again.credentials == []  # no password in the file: the team keeps its own
    assert Participant.objects.count() == 1 and User.objects.count() == 1
    assert can_sign_in("gita@school.test", password)


def test_a_reimport_renames_and_resets_a_password_and_ends_its_tokens(team):
    Token.objects.create(user=team.user)
    content = xlsx(
        [["email", "team", "school", "password"], [team.user.email.upper(), "New Name", "SMA 9", "fresh-pass-77"]]
    )

    report = participants_import(content=content, filename="teams.xlsx")

    assert (report.created, report.updated) == (0, 1)
    team.refresh_from_db()
    assert (team.display_name, team.school) == ("New Name", "SMA 9")
    assert can_sign_in(team.user.email, "fresh-pass-77")
    assert not can_sign_in(team.user.email, TEAM_PASSWORD)
    assert not Token.objects.filter(user=team.user).exists()
    entry = AuditEntry.objects.get(action="participant_import_update", target=f"participant:{team.pk}")
    assert entry.data["old"] == {"display_name": "Bull Riders", "school": "SMA 1"}
    assert entry.data["new"] == {"display_name": "New Name", "school": "SMA 9", "password": "set by the import"}
    assert "fresh-pass-77" not in str(entry.data)


# One bad row: nothing


def test_one_bad_row_among_many_imports_nothing_and_every_bad_row_is_named(team):
    rows = [["email", "team", "school", "password", "starting cash"]]
    rows += [[f"t{n}@school.test", f"Team {n:03d}", "SMA", "", ""] for n in range(40)]
    rows[8] = ["not-an-email", "Team X", "", "", ""]  # spreadsheet row 9
    rows[15] = ["t99@school.test", "bull RIDERS", "", "", ""]  # row 16: another team's name
    rows[21] = ["t98@school.test", "Team Y", "", "short", "1.000,50"]  # row 22: two problems
    rows[30] = ["t3@school.test", "Team Z", "", "", ""]  # row 31: same e-mail as row 5

    with pytest.raises(ImportInvalid) as refused:
        participants_import(content=xlsx(rows), filename="teams.xlsx")

    assert errors_of(refused.value) == [
        (9, "email"),
        (16, "display_name"),
        (22, "password"),
        (22, "starting_cash"),
        (31, "email"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in refused.value.errors}
    assert messages[(31, "email")] == "The same e-mail is on row 5."
    assert "too short" in messages[(22, "password")]
    assert Participant.objects.count() == 1  # only the team that was there


def test_missing_columns_are_reported_on_the_header_row():
    with pytest.raises(ImportInvalid) as refused:
        participants_import(content=xlsx([["mail address", "school"], ["x@y.test", "SMA"]]), filename="t.xlsx")

    assert errors_of(refused.value) == [(1, "display_name"), (1, "email")]
    assert "team name" in next(e["message"] for e in refused.value.errors if e["column"] == "display_name")


def test_an_organisers_email_cannot_become_a_team(admin_user):
    with pytest.raises(ImportInvalid) as refused:
        participants_import(content=xlsx([["email", "team"], [admin_user.email, "Sneaky"]]), filename="t.xlsx")

    assert errors_of(refused.value) == [(2, "email")]
    assert not Participant.objects.exists()


def test_starting_cash_cannot_change_once_a_team_has_traded(team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    content = xlsx([["email", "team", "starting cash"], [team.user.email, team.display_name, "5000"]])

    with pytest.raises(ImportInvalid) as refused:
        participants_import(content=content, filename="t.xlsx")

    assert errors_of(refused.value) == [(2, "starting_cash")]
    team.refresh_from_db()
    assert team.starting_cash == Decimal("100000.00")


def test_a_dry_run_reports_and_writes_nothing(team):
    content = xlsx([["email", "team"], [team.user.email, "Renamed"], ["new@school.test", "Newcomers"]])

    report = participants_import(content=content, filename="t.xlsx", dry_run=True)

    assert (report.dry_run, report.created, report.updated) == (True, 1, 1)
    assert report.credentials == []
    team.refresh_from_db()
    assert team.display_name == "Bull Riders"
    assert Participant.objects.count() == 1


# Files that are not what they claim


@pytest.mark.parametrize(
    "content, name, words",
    [
        (b"", "teams.xlsx", "The file is empty."),
        (os.urandom(4096).replace(b"\x00", b"\x01")[:4000] + b"\x00", "teams.xlsx", "not a spreadsheet"),
        (b"PK\x03\x04" + b"x" * 200, "teams.xlsx", "not a spreadsheet"),
        (b"\n\n\n", "teams.csv", "The sheet is empty"),
    ],
    ids=["empty", "random-bytes", "broken-zip", "blank-lines"],
)
def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_error(content, name, words):
    with pytest.raises(SpreadsheetRefused) as refused:
        participants_import(content=content, filename=name)

    assert words in refused.value.detail
    assert not Participant.objects.exists()


def test_a_formula_in_a_cell_is_refused():
    content = xlsx([["email", "team"], ["h@school.test", '=HYPERLINK("http://x","y")']])

    with pytest.raises(SpreadsheetRefused) as refused:
        participants_import(content=content, filename="t.xlsx")

    assert "Cell B2 holds a formula" in refused.value.detail


def test_files_over_the_limits_are_refused_with_the_limit(settings):
    settings.IMPORT_MAX_ROWS = 10
    rows = [["email", "team"]] + [[f"r{n}@school.test", f"R{n}"] for n in range(11)]
    with pytest.raises(SpreadsheetRefused, match="more than 10 rows"):
        participants_import(content=csv_bytes(rows), filename="t.csv")

    settings.IMPORT_MAX_BYTES = 50
    with pytest.raises(SpreadsheetRefused, match="larger than"):
        participants_import(content=csv_bytes(rows[:5]), filename="t.csv")
    assert not Participant.objects.exists()


def test_five_thousand_rows_import_within_the_limits():
    rows = [["email", "team", "school", "password"]]
    rows += [[f"big{n}@school.test", f"Big {n:04d}", "SMA", f"pass-phrase-{n:04d}"] for n in range(5000)]

    report = participants_import(content=csv_bytes(rows), filename="big.csv")

    assert report.created == 5000
    assert Participant.objects.count() == 5000
    assert can_sign_in("big4999@school.test", "pass-phrase-4999")


def test_every_import_is_audited(admin_user):
    content = xlsx([["email", "team"], ["i@school.test", "Ibis"]])
    report = participants_import(content=content, filename="t.xlsx", by=admin_user)

    entry = AuditEntry.objects.get(action="participants_import")
    assert entry.actor == admin_user
    assert entry.data["created"] == 1 and entry.data["passwords_set"] == 1
    assert report.credentials[0].password not in str(entry.data)  # who and how many, never a secret


# The API


def upload(content: bytes, name: str = "teams.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def test_the_api_imports_and_hands_out_the_logins_once(admin_api):
    content = xlsx([["email", "team"], ["j@school.test", "Jaguars"]])

    response = admin_api.post("/api/admin/participants/import", {"file": upload(content)}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("dry_run", "created", "updated", "errors")} == {
        "dry_run": False,
        "created": 1,
        "updated": 0,
        "errors": [],
    }
    sheet = admin_api.get(body["credentials"]["url"])
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(sheet) if hasattr(sheet, "streaming") else sheet.content))
    rows = list(book.active.values)
    assert rows[0][:4] == ("Team", "School", "E-mail", "Password")
    assert rows[1][0] == "Jaguars" and can_sign_in("j@school.test", rows[1][3])
    assert_problem(admin_api.get(body["credentials"]["url"]), 404, "not_found")  # once


def test_the_api_reports_a_bad_file_and_imports_nothing(admin_api):
    content = xlsx([["email", "team"], ["ok@school.test", "Fine"], ["bad", "Broken"]])

    response = admin_api.post(
        "/api/admin/participants/import", {"file": upload(content), "dry_run": "true"}, format="multipart"
    )

    body = assert_problem(response, 400, "import_invalid")
    assert body["errors"] == [{"row": 3, "column": "email", "message": "'bad' is not an e-mail address."}]
    assert body["dry_run"] is True and body["created"] == 0
    assert not Participant.objects.exists()


def test_the_api_dry_run_writes_nothing(admin_api):
    content = csv_bytes([["email", "team"], ["k@school.test", "Kites"]])

    response = admin_api.post(
        "/api/admin/participants/import", {"file": upload(content, "t.csv"), "dry_run": "true"}, format="multipart"
    )

    assert response.status_code == 200
    assert response.json()["created"] == 1 and "credentials" not in response.json()
    assert not Participant.objects.exists()


def test_the_api_refuses_a_missing_file_and_odd_flags(admin_api):
    assert_problem(admin_api.post("/api/admin/participants/import", {}, format="multipart"), 400, "validation_error")
    content = xlsx([["email", "team"], ["l@school.test", "Lynx"]])
    response = admin_api.post(
        "/api/admin/participants/import", {"file": upload(content), "dry_run": "maybe"}, format="multipart"
    )
    assert_problem(response, 400, "validation_error")
    response = admin_api.post(
        "/api/admin/participants/import", {"file": upload(os.urandom(300), "x.xlsx")}, format="multipart"
    )
    assert_problem(response, 400, "import_unreadable")


def test_only_organisers_may_import(api, team_api):
    content = xlsx([["email", "team"], ["m@school.test", "Moles"]])
    assert_problem(
        team_api.post("/api/admin/participants/import", {"file": upload(content)}, format="multipart"),
        403,
        "permission_denied",
    )
    assert api.post("/api/admin/participants/import", {"file": upload(content)}, format="multipart").status_code == 401
    assert not Participant.objects.filter(display_name="Moles").exists()


def test_a_team_cannot_download_logins(admin_api, team_api):
    content = xlsx([["email", "team"], ["n@school.test", "Newts"]])
    url = admin_api.post("/api/admin/participants/import", {"file": upload(content)}, format="multipart").json()[
        "credentials"
    ]["url"]

    assert_problem(team_api.get(url), 403, "permission_denied")
    assert admin_api.get(url).status_code == 200  # still there for the organiser


# The command


def test_the_command_imports_and_writes_the_logins(tmp_path):
    source = tmp_path / "teams.xlsx"
    source.write_bytes(xlsx([["email", "team"], ["o@school.test", "Owls"]]))
    logins = tmp_path / "logins.xlsx"
    out = io.StringIO()

    call_command("import_participants", str(source), credentials=str(logins), stdout=out, stderr=io.StringIO())

    assert "Created 1 and updated 0 teams" in out.getvalue()
    row = list(openpyxl.load_workbook(logins).active.values)[1]
    assert row[0] == "Owls" and can_sign_in("o@school.test", row[3])


def test_the_command_names_the_bad_rows_and_fails(tmp_path):
    source = tmp_path / "teams.csv"
    source.write_bytes(csv_bytes([["email", "team"], ["p@school.test", ""]]))
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_participants", str(source), stdout=io.StringIO(), stderr=err)

    assert "row 2, display_name: The team name is empty." in err.getvalue()
    assert not Participant.objects.exists()


# While the file is imported, the market goes on


def test_a_trade_while_the_passwords_hash_keeps_its_cash(team, company, open_market, monkeypatch):
    from organisers.imports import write as imports

    real_hash = imports.hash_passwords

    def hash_while_the_team_trades(passwords, **kwargs):
        services.trade_execute(participant=team, company=company, side="buy", quantity=10)
        return real_hash(passwords, **kwargs)

    monkeypatch.setattr(imports, "hash_passwords", hash_while_the_team_trades)
    content = xlsx([["email", "team"], [team.user.email, "Renamed Riders"], ["new@school.test", "Newcomers"]])

    participants_import(content=content, filename="t.xlsx")

    team.refresh_from_db()
    assert team.display_name == "Renamed Riders"
    assert team.cash == Decimal("99900.00")  # the trade's cost stays spent
    assert team.holdings.get().quantity == 10
    assert team.portfolio_value == Decimal("100000.00")


def test_a_starting_cash_change_is_refused_when_the_team_trades_meanwhile(team, company, open_market, monkeypatch):
    from organisers.imports import write as imports

    real_hash = imports.hash_passwords

    def hash_while_the_team_trades(passwords, **kwargs):
        services.trade_execute(participant=team, company=company, side="buy", quantity=10)
        return real_hash(passwords, **kwargs)

    monkeypatch.setattr(imports, "hash_passwords", hash_while_the_team_trades)
    content = xlsx(
        [["email", "team", "starting cash"], [team.user.email, team.display_name, "5000"], ["n2@school.test", "N2", ""]]
    )

    with pytest.raises(ImportInvalid) as refused:
        participants_import(content=content, filename="t.xlsx")

    assert errors_of(refused.value) == [(2, "starting_cash")]
    team.refresh_from_db()
    assert (team.starting_cash, team.cash) == (Decimal("100000.00"), Decimal("99900.00"))
    assert not Participant.objects.filter(display_name="N2").exists()  # nothing imported


def test_the_logins_sheet_prints_a_password_exactly_even_when_it_starts_like_a_formula():
    content = xlsx([["email", "team", "password"], ["plus@school.test", "Plus", "+Tr0ub4dor&3xyz"]])
    report = participants_import(content=content, filename="t.xlsx")

    from organisers.imports import credentials_workbook

    row = list(openpyxl.load_workbook(io.BytesIO(credentials_workbook(report, event_name="Cup"))).active.values)[1]
    assert row[3] == "+Tr0ub4dor&3xyz"
    assert can_sign_in("plus@school.test", row[3])


def test_an_exported_team_list_imports_back_unchanged(team, admin_user):
    from organisers.resources import ParticipantExportResource
    from organisers.spreadsheets import SafeCSV

    services.participant_rename(participant=team, display_name="-Wolves-", school="@home", by=None)
    exported = SafeCSV().export_data(ParticipantExportResource().export())
    assert "'-Wolves-" in exported  # inert in the file

    report = participants_import(content=exported.encode(), filename="teams.csv")

    assert (report.created, report.updated) == (0, 1)
    team.refresh_from_db()
    assert (team.display_name, team.school) == ("-Wolves-", "@home")
    assert not AuditEntry.objects.filter(action="participant_import_update").exists()  # nothing changed


def test_generated_passwords_satisfy_the_password_rules():
    from django.contrib.auth.password_validation import validate_password

    from organisers.imports import generate_password

    for _ in range(200):
        validate_password(generate_password(), user=User(email="team@school.test"))  # raises if not
