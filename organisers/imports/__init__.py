"""Teams from a spreadsheet (SPEC §6): the one import behind the admin, the API and the command.

Columns (headers in any case, common aliases accepted): `email`, `display_name` (team, team name),
`school`, `password` (generated when empty), `starting_cash` (the event's when empty). A row
whose e-mail exists updates that team; nothing is ever duplicated. Every row is checked before
anything is written: one bad row imports nothing, and the report names every bad row (its row
number in the spreadsheet, the header being row 1), the column and the reason.

Passwords are hashed before the one short transaction that writes, several at a time (Argon2
is slow on purpose, accounts/hashers.py, and leaves the processor to others while it waits).

One module per step: `rows` reads and checks, `write` hashes and writes, `credentials` keeps the
logins sheet for one download, `admin` is the Django admin's import button.
"""

from organisers.imports.admin import ParticipantImportResource
from organisers.imports.credentials import (
    credentials_keep,
    credentials_pending,
    credentials_take,
    credentials_workbook,
)
from organisers.imports.rows import COLUMNS, ImportInvalid, Report, Row
from organisers.imports.write import generate_password, hash_passwords, import_sheet, participants_import

__all__ = [
    "COLUMNS",
    "ImportInvalid",
    "ParticipantImportResource",
    "Report",
    "Row",
    "credentials_keep",
    "credentials_pending",
    "credentials_take",
    "credentials_workbook",
    "generate_password",
    "hash_passwords",
    "import_sheet",
    "participants_import",
]
