"""Reading a team import: which column is which, every row checked on its own and against the
teams that exist. Nothing is written here; every problem goes in the report, by row and column."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower

from accounts.models import Role, User
from common.problems import DomainError
from market.models import MAX_CASH, Participant
from organisers.cells import CellError, cell_text, header_key, parse_amount
from organisers.spreadsheets import Sheet

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


def parse_rows(sheet: Sheet, columns: dict[str, int], report: Report) -> list[Row]:
    """The rows of the sheet that pass every check of their own; the others are in the report."""
    rows: list[Row] = []
    seen: dict[str, dict[str, int]] = {"email": {}, "display_name": {}}
    for number, cells in sheet.rows:
        if not any(cells):
            continue  # blank lines are allowed anywhere
        values = {name: cell_text(cells[index]) for name, index in columns.items()}
        row = _read_row(number, values, seen, report)
        if row is not None:
            rows.append(row)
    if not rows and not report.errors:
        report.error(2, "email", "The sheet has a header but no teams.")
    return rows


def _read_row(number: int, values: dict[str, str], seen: dict, report: Report) -> Row | None:
    email, name, school = values["email"], values["display_name"], values.get("school", "")
    password, cash_text = values.get("password", ""), values.get("starting_cash", "")
    problems = [
        *_email_problems(email, seen["email"], number),
        *_name_problems(name, seen["display_name"], number),
    ]
    if len(school) > SCHOOL_MAX:
        problems.append(("school", f"The school is longer than {SCHOOL_MAX} characters."))
    if password:
        try:
            password_validation.validate_password(password, user=User(email=email))
        except ValidationError as exc:
            problems.append(("password", " ".join(exc.messages)))
    starting_cash = None
    if cash_text:
        try:
            starting_cash = parse_amount(cash_text, maximum=MAX_CASH, zero=True)
        except CellError as exc:
            problems.append(("starting_cash", str(exc)))
    for column, message in problems:
        report.error(number, column, message)
    if problems:
        return None
    return Row(number, User.objects.normalize_email(email), name, school, password, starting_cash)


def _email_problems(email: str, seen: dict[str, int], number: int) -> list[tuple[str, str]]:
    if not email:
        return [("email", "The e-mail is empty.")]
    try:
        validate_email(email)
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
    except ValidationError:
        return [("email", f"{email[:60]!r} is not an e-mail address.")]
    first = seen.setdefault(email.lower(), number)
    return [("email", f"The same e-mail is on row {first}.")] if first != number else []


def _name_problems(name: str, seen: dict[str, int], number: int) -> list[tuple[str, str]]:
    if not name:
        return [("display_name", "The team name is empty.")]
    if len(name) > NAME_MAX:
        return [("display_name", f"The team name is longer than {NAME_MAX} characters.")]
    first = seen.setdefault(name.lower(), number)
    return [("display_name", f"The same team name is on row {first}.")] if first != number else []


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
