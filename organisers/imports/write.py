"""Writing a team import: passwords hashed first, several at a time (Argon2 takes a while for each,
docs/performance.md), then one short transaction: the new teams through the market's bulk
`teams_create`, the others renamed (and their starting cash or password set), audited."""

import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_sign_out_everywhere
from common import sql
from common.logs import activity
from common.read_cache import reads_changed
from market.events import leaderboard_changed
from market.models import AuditEntry, CashAdjustment, Participant
from market.services import NewTeam, audit, teams_create
from organisers.imports.rows import (
    STARTING_CASH_FIXED,
    ImportInvalid,
    Report,
    Row,
    check_against_teams,
    map_headers,
    parse_rows,
)
from organisers.spreadsheets import Sheet, read_sheet

# Readable and strong: 12 characters from 31 unambiguous ones (about 59 bits), in groups of four.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_password() -> str:
    chars = [secrets.choice(PASSWORD_ALPHABET) for _ in range(12)]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, 12, 4))


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
    new_rows = [row for row in rows if row.team is None]
    updates = [row for row in rows if row.team is not None]
    teams_create(
        teams=[NewTeam(row.email, row.hashed, row.display_name, row.school, row.starting_cash) for row in new_rows],
        now=now,
    )
    _update_teams(updates, by=by, now=now)
    _set_passwords([row for row in updates if row.password], now=now)
    passwords_set = sum(bool(row.password) for row in rows)
    audit(
        by=by,
        action="participants_import",
        target=filename[:200],
        created=len(new_rows),
        updated=len(updates),
        passwords_set=passwords_set,
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
        passwords_set=passwords_set,
        by_user_id=by and by.pk,
    )
    leaderboard_changed()


def _update_teams(updates: list[Row], *, by: User | None, now) -> None:
    """The teams being updated, locked (by id, the services' order) and read afresh: they may have
    traded while the passwords were hashed. Only names and schools change, and the starting cash
    only of a team that has still neither traded nor had its cash adjusted."""
    locked = Participant.objects.select_for_update().in_bulk([row.team.pk for row in updates])
    adjusted = set(CashAdjustment.objects.filter(participant__in=list(locked)).values_list("participant_id", flat=True))
    renamed, recashed, entries, refused = [], [], [], []
    for row in updates:
        team = row.team = locked[row.team.pk]
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
            data = {"old": old, "new": new}
            entries.append(
                AuditEntry(actor=by, action="participant_import_update", target=f"participant:{team.pk}", data=data)
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
    # expressions took seconds to build for thousands of teams (docs/performance.md).
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE participants SET display_name = %s, school = %s, updated_at = %s WHERE id = %s",
            [(team.display_name, team.school, sql.db_time(now), sql.db_id(Participant, team.pk)) for team in renamed],
        )
    Participant.objects.bulk_update(recashed, ["cash", "starting_cash", "portfolio_value"], batch_size=500)
    AuditEntry.objects.bulk_create(entries, batch_size=500)


def _set_passwords(rows: list[Row], *, now) -> None:
    """The passwords the file sets for existing teams: their old tokens and connections end."""
    accounts = []
    for row in rows:
        account = row.team.user
        account.password, account.updated_at = row.hashed, now
        accounts.append(account)
    User.objects.bulk_update(accounts, ["password", "updated_at"], batch_size=500)
    for account in accounts:
        user_sign_out_everywhere(account)
