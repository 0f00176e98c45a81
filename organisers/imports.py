"""Teams from a spreadsheet (SPEC §6): the one import behind the admin, the API and the command.

Columns (headers in any case, common aliases accepted): `email`, `display_name` (team, team name),
`school`, `password` (generated when empty), `starting_cash` (the event's when empty). A row
whose e-mail exists updates that team; nothing is ever duplicated. Every row is checked before
anything is written: one bad row imports nothing, and the report names every bad row (its row
number in the spreadsheet, the header being row 1), the column and the reason.

Passwords are hashed before the one short transaction that writes, several at a time (Argon2
takes about 40 ms each here, accounts/hashers.py, and leaves the processor to others while it waits).
"""

import os
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.utils import timezone
from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult

from accounts.models import Role, User
from accounts.services import user_sign_out_everywhere
from common import sql
from common.logs import activity
from common.problems import DomainError
from common.read_cache import reads_changed
from market.events import leaderboard_changed
from market.models import MAX_CASH, AuditEntry, CashAdjustment, EventSettings, Participant
from market.money import money
from market.services import audit
from organisers.resources import SpreadsheetResult, cell_text, header_key
from organisers.spreadsheets import XLSX_CONTENT_TYPE, Literal, Sheet, read_sheet, workbook_bytes

COLUMNS = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "display_name": ("display_name", "display name", "team", "team name", "teamname", "name"),
    "school": ("school", "school name", "sekolah", "asal sekolah"),
    "password": ("password", "initial password", "pass"),
    # Not "cash": in an export of the teams that is their cash now, not what they started with.
    "starting_cash": ("starting_cash", "starting cash", "start cash", "starting balance", "initial cash"),
}
REQUIRED = ("email", "display_name")
NAME_MAX, SCHOOL_MAX, EMAIL_MAX = 80, 120, 254
# Readable and strong: 12 characters from 31 unambiguous ones (about 59 bits), in groups of four.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
AMOUNT = re.compile(r"^\d{1,14}(\.\d{1,2})?$")


STARTING_CASH_FIXED = (
    "This team has traded or had its cash adjusted: its starting cash can no longer change "
    "(use a cash adjustment instead)."
)


class ImportInvalid(DomainError):
    code = "import_invalid"
    status = 400
    title = "The file has errors; nothing was imported"


@dataclass
class Row:
    number: int
    email: str
    display_name: str
    school: str
    password: str
    starting_cash: Decimal | None
    generated: bool = False
    team: Participant | None = None
    hashed: str = ""


@dataclass
class Report:
    dry_run: bool
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    credentials: list[Row] = field(default_factory=list)  # rows whose password this import set
    rows: list[Row] = field(default_factory=list)

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "errors": sorted(self.errors, key=lambda e: (e["row"], e["column"])),
            "seconds": round(self.seconds, 2),
        }


def generate_password() -> str:
    chars = [secrets.choice(PASSWORD_ALPHABET) for _ in range(12)]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, 12, 4))


def map_headers(headers: list[str], report: Report) -> dict[str, int]:
    """Which column holds which field; errors on row 1 for missing or doubled columns."""
    aliases = {header_key(alias): name for name, names in COLUMNS.items() for alias in names}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = aliases.get(header_key(header))
        if name is None:
            continue  # other columns (notes, class…) are left alone
        if name in found:
            report.error(1, header, f'Two columns mean "{name}": keep one.')
            continue
        found[name] = index
    for name in REQUIRED:
        if name not in found:
            accepted = ", ".join(COLUMNS[name])
            report.error(1, name, f"No {name} column. Accepted headers: {accepted}.")
    return found


def _amount(text: str) -> Decimal:
    cleaned = text.replace(" ", "")
    if not AMOUNT.match(cleaned):
        raise ValueError
    value = Decimal(cleaned)
    if value > MAX_CASH:
        raise ValueError
    return money(value)


def parse_rows(sheet: Sheet, columns: dict[str, int], report: Report) -> list[Row]:
    rows: list[Row] = []
    emails: dict[str, int] = {}
    names: dict[str, int] = {}
    for number, cells in sheet.rows:
        if not any(cells):
            continue  # blank lines are allowed anywhere

        values = {name: cell_text(cells[index]) for name, index in columns.items()}
        email, name, school = values["email"], values["display_name"], values.get("school", "")
        password, cash_text = values.get("password", ""), values.get("starting_cash", "")
        ok = True
        if not email:
            report.error(number, "email", "The e-mail is empty.")
            ok = False
        else:
            try:
                validate_email(email)
                if len(email) > EMAIL_MAX:
                    raise ValidationError("too long")
            except ValidationError:
                report.error(number, "email", f"{email[:60]!r} is not an e-mail address.")
                ok = False
            else:
                first = emails.setdefault(email.lower(), number)
                if first != number:
                    report.error(number, "email", f"The same e-mail is on row {first}.")
                    ok = False
        if not name:
            report.error(number, "display_name", "The team name is empty.")
            ok = False
        elif len(name) > NAME_MAX:
            report.error(number, "display_name", f"The team name is longer than {NAME_MAX} characters.")
            ok = False
        else:
            first = names.setdefault(name.lower(), number)
            if first != number:
                report.error(number, "display_name", f"The same team name is on row {first}.")
                ok = False
        if len(school) > SCHOOL_MAX:
            report.error(number, "school", f"The school is longer than {SCHOOL_MAX} characters.")
            ok = False
        if password:
            try:
                password_validation.validate_password(password, user=User(email=email))
            except ValidationError as exc:
                report.error(number, "password", " ".join(exc.messages))
                ok = False
        starting_cash = None
        if cash_text:
            try:
                starting_cash = _amount(cash_text)
            except (ValueError, InvalidOperation):
                report.error(
                    number,
                    "starting_cash",
                    f"{cash_text[:30]!r} is not an amount: write digits with an optional . and two decimals "
                    "(100000 or 100000.50), no thousands separators.",
                )
                ok = False
        if ok:
            rows.append(Row(number, User.objects.normalize_email(email), name, school, password, starting_cash))
    if not rows and not report.errors:
        report.error(2, "email", "The sheet has a header but no teams.")
    return rows


def check_against_teams(rows: list[Row], report: Report) -> None:
    """Updates by e-mail; a team name may not belong to another account; organisers stay out."""
    users = {
        user.email.lower(): user
        for user in User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=[row.email.lower() for row in rows])
        .select_related("participant")
    }
    taken = dict(
        Participant.objects.annotate(name_lower=Lower("display_name"))
        .filter(name_lower__in=[row.display_name.lower() for row in rows])
        .values_list("name_lower", "user_id")
    )
    for row in rows:
        user = users.get(row.email.lower())
        if user is not None and (user.role != Role.PARTICIPANT or not hasattr(user, "participant")):
            report.error(row.number, "email", "This e-mail belongs to an organiser account, not a team.")
            continue
        owner = taken.get(row.display_name.lower())
        if owner is not None and (user is None or owner != user.pk):
            report.error(row.number, "display_name", "Another team already has this name.")
            continue
        if user is not None:
            row.team = user.participant
            team = row.team
            if row.starting_cash is not None and row.starting_cash != team.starting_cash:
                untouched = team.trade_count == 0 and team.cash == team.starting_cash
                if not untouched or team.cash_adjustments.exists():
                    report.error(row.number, "starting_cash", STARTING_CASH_FIXED)


def hash_passwords(passwords: list[str], *, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Argon2 hashes, several at a time; `progress(done, total)` after each."""
    if not passwords:
        return []
    workers = max(1, min(8, os.cpu_count() or 1))
    hashes: list[str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, hashed in enumerate(pool.map(make_password, passwords), start=1):
            hashes.append(hashed)
            if progress is not None:
                progress(done, len(passwords))
    return hashes


def participants_import(
    *,
    content: bytes,
    filename: str = "",
    dry_run: bool = False,
    by: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Read, check and (unless `dry_run`) write the teams of one file. Raises ImportInvalid with
    the report when any row is bad, and SpreadsheetRefused when the file cannot be read."""
    return import_sheet(
        sheet=read_sheet(content, filename), filename=filename, dry_run=dry_run, by=by, progress=progress
    )


def import_sheet(
    *,
    sheet: Sheet,
    filename: str = "",
    dry_run: bool = False,
    by: User | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    started = time.monotonic()
    report = Report(dry_run=dry_run)
    columns = map_headers(sheet.headers, report)
    rows = parse_rows(sheet, columns, report) if not report.errors else []
    if rows:
        check_against_teams(rows, report)
    if report.errors:
        report.seconds = time.monotonic() - started
        raise ImportInvalid(
            f"{len({e['row'] for e in report.errors})} row(s) have errors; nothing was imported.",
            **report.as_dict(),
        )
    report.rows = rows
    report.created = sum(row.team is None for row in rows)
    report.updated = len(rows) - report.created
    if dry_run:
        report.seconds = time.monotonic() - started
        return report

    for row in rows:
        if row.team is None and not row.password:
            row.password, row.generated = generate_password(), True
    needing = [row for row in rows if row.password]
    for row, hashed in zip(needing, hash_passwords([row.password for row in needing], progress=progress), strict=True):
        row.hashed = hashed
    try:
        _write(rows, by=by, filename=filename)
    except IntegrityError as exc:  # a team signed up with one of these e-mails or names meanwhile
        raise ImportInvalid(
            "A team with one of these e-mails or names was created while the file was imported; import it again.",
            dry_run=False,
            created=0,
            updated=0,
            errors=[],
        ) from exc
    report.credentials = needing
    report.seconds = time.monotonic() - started
    return report


@transaction.atomic
def _write(rows: list[Row], *, by: User | None, filename: str) -> None:
    now = timezone.now()
    default_cash = EventSettings.load().starting_cash
    new_rows = [row for row in rows if row.team is None]
    users = User.objects.bulk_create(
        [
            User(email=row.email, password=row.hashed, role=Role.PARTICIPANT, created_at=now, updated_at=now)
            for row in new_rows
        ]
    )
    teams = []
    for row, user in zip(new_rows, users, strict=True):
        cash = row.starting_cash if row.starting_cash is not None else money(default_cash)
        teams.append(
            Participant(
                user=user,
                display_name=row.display_name,
                school=row.school,
                cash=cash,
                starting_cash=cash,
                portfolio_value=cash,
            )
        )
    Participant.objects.bulk_create(teams)

    # The teams being updated, locked (by id, the services' order) and read afresh: they may have
    # traded while the passwords were hashed. Only names and schools change, and the starting
    # cash only of a team that has still neither traded nor had its cash adjusted.
    updates = [row for row in rows if row.team is not None]
    locked = Participant.objects.select_for_update().in_bulk([row.team.pk for row in updates])
    adjusted = set(CashAdjustment.objects.filter(participant__in=list(locked)).values_list("participant_id", flat=True))
    renamed, recashed, entries, refused = [], [], [], []
    for row in updates:
        team = locked[row.team.pk]
        row.team = team
        old = {"display_name": team.display_name, "school": team.school}
        new = {"display_name": row.display_name, "school": row.school}
        if row.starting_cash is not None and row.starting_cash != team.starting_cash:
            if team.trade_count or team.cash != team.starting_cash or team.pk in adjusted:
                refused.append(row)
                continue
            old["starting_cash"], new["starting_cash"] = team.starting_cash, row.starting_cash
            team.cash = team.starting_cash = team.portfolio_value = row.starting_cash
            recashed.append(team)
        if row.password:
            new["password"] = "set by the import"
        if old != new:
            team.display_name, team.school, team.updated_at = row.display_name, row.school, now
            renamed.append(team)
            entries.append(
                AuditEntry(
                    actor=by,
                    action="participant_import_update",
                    target=f"participant:{team.pk}",
                    data={"old": old, "new": new},
                )
            )
    if refused:
        raise ImportInvalid(
            "Some teams traded while the file was imported; nothing was imported.",
            dry_run=False,
            created=0,
            updated=0,
            errors=[{"row": row.number, "column": "starting_cash", "message": STARTING_CASH_FIXED} for row in refused],
        )
    # One plain UPDATE per team, sent together (psycopg pipelines executemany): bulk_update's CASE
    # expressions took 8 s to build for 10,000 teams (docs/performance.md).
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE participants SET display_name = %s, school = %s, updated_at = %s WHERE id = %s",
            [(team.display_name, team.school, sql.db_time(now), sql.db_id(Participant, team.pk)) for team in renamed],
        )
    Participant.objects.bulk_update(recashed, ["cash", "starting_cash", "portfolio_value"], batch_size=500)
    AuditEntry.objects.bulk_create(entries, batch_size=500)

    new_passwords = [row for row in updates if row.password]
    if new_passwords:
        accounts = []
        for row in new_passwords:
            account = row.team.user
            account.password, account.updated_at = row.hashed, now
            accounts.append(account)
        User.objects.bulk_update(accounts, ["password", "updated_at"], batch_size=500)
        for account in accounts:
            user_sign_out_everywhere(account)  # the old password's tokens and live connections end
    audit(
        by=by,
        action="participants_import",
        target=filename[:200],
        created=len(new_rows),
        updated=len(updates),
        passwords_set=sum(bool(row.password) for row in rows),
        new_teams=[{"email": row.email, "display_name": row.display_name} for row in new_rows][:1000],
    )
    reads_changed("leaderboard")
    activity(
        "import",
        f"participants imported from {filename or 'a file'}: {len(new_rows)} new, {len(updates)} updated",
        kind="participants",
        file=filename[:200],
        added=len(new_rows),
        updated=len(updates),
        passwords_set=sum(bool(row.password) for row in rows),
        by_user_id=by and by.pk,
    )
    leaderboard_changed()


def credentials_workbook(report: Report, *, event_name: str) -> bytes:
    """One row per team whose password this import set: for printing and handing out, once."""
    rows = [
        [
            row.display_name,
            row.school,
            row.email,
            Literal(row.password),  # exactly as typed at sign-in, whatever its first character
            "generated" if row.generated else "from the file",
        ]
        for row in sorted(report.credentials, key=lambda r: (r.school.lower(), r.display_name.lower()))
    ]
    return workbook_bytes({f"{event_name} logins"[:31]: (["Team", "School", "E-mail", "Password", "Source"], rows)})


# The credentials sheet waits in the cache (shared by every server process when it is Redis) for
# one download; then it is gone.

CREDENTIALS_SECONDS = 30 * 60


def credentials_keep(report: Report, *, event_name: str, owner: User | None = None) -> str | None:
    """Store the sheet for one download; its token, or None when this import set no password.
    With `owner`, it is also that organiser's latest sheet (credentials_pending), so logins are
    not lost when the answer to a long import never reaches the browser."""
    if not report.credentials:
        return None
    token = secrets.token_urlsafe(24)
    cache.set(f"import-credentials:{token}", credentials_workbook(report, event_name=event_name), CREDENTIALS_SECONDS)
    if owner is not None:
        cache.set(f"import-credentials-latest:{owner.pk}", token, CREDENTIALS_SECONDS)
    return token


def credentials_pending(owner: User) -> str | None:
    """The token of this organiser's latest logins sheet, while it waits to be downloaded."""
    token = cache.get(f"import-credentials-latest:{owner.pk}")
    return token if token and cache.get(f"import-credentials:{token}") is not None else None


def credentials_take(token: str) -> HttpResponse | None:
    """The stored sheet as a download, once; None when it was taken or has expired."""
    key = f"import-credentials:{token}"
    sheet = cache.get(key)
    if sheet is None or not cache.delete(key):  # of two clicks at once, only one deletes it
        return None
    response = HttpResponse(sheet, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = 'attachment; filename="team-logins.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


# The admin's import button (django-import-export: upload, preview, confirm) runs the same import.


class ParticipantImportResource(resources.Resource):
    """Teams for the admin's two-step import; the preview is a dry run of `import_sheet`."""

    email = Field(column_name="email")
    display_name = Field(column_name="display_name (or team)")
    school = Field(column_name="school")
    password = Field(column_name="password (generated when empty)")
    starting_cash = Field(column_name="starting_cash (the event's when empty)")

    class Meta:
        name = "Teams"

    @classmethod
    def get_display_name(cls) -> str:
        return "Teams"

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        numbers = getattr(dataset, "row_numbers", None) or range(2, len(dataset) + 2)
        sheet = Sheet(
            headers=[str(header or "") for header in dataset.headers or []],
            rows=[(number, [str(cell or "") for cell in row]) for number, row in zip(numbers, dataset, strict=False)],
        )
        result = SpreadsheetResult()
        result.diff_headers = ["Row", "E-mail", "Team", "School", "Starting cash", "Password"]
        try:
            report = import_sheet(
                sheet=sheet, filename=kwargs.get("file_name") or "", dry_run=dry_run, by=kwargs.get("user")
            )
        except DomainError as refusal:
            by_row: dict[int, dict[str, list[str]]] = {}
            for error in refusal.errors or []:
                by_row.setdefault(error["row"], {}).setdefault(error["column"], []).append(error["message"])
            cells = dict(sheet.rows)
            for number, problems in sorted(by_row.items()):
                values = sheet.headers if number == 1 else cells.get(number, [])
                result.append_invalid_row(number, dict(enumerate(values)), ValidationError(problems))
            if not by_row:
                result.append_invalid_row(0, {}, ValidationError(refusal.detail))
            return result
        cash_default = EventSettings.load().starting_cash
        for row in report.rows:
            outcome = RowResult()
            outcome.import_type = RowResult.IMPORT_TYPE_NEW if row.team is None else RowResult.IMPORT_TYPE_UPDATE
            if row.password:
                password = "from the file"
            elif row.team is None:
                password = "generated"
            else:
                password = "unchanged"
            cash = (
                row.starting_cash
                if row.starting_cash is not None
                else (row.team.starting_cash if row.team is not None else cash_default)
            )
            outcome.diff = [row.number, row.email, row.display_name, row.school, f"{cash:,.2f}", password]
            result.append_row_result(outcome)
            result.increment_row_result_total(outcome)
        result.import_report = report
        return result
