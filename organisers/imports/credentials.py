"""The logins an import set, as a printable sheet, kept for one download (in the cache: shared by
every server process when it is Redis); then it is gone."""

import secrets

from django.core.cache import cache
from django.http import HttpResponse

from accounts.models import User
from organisers.imports.rows import Report
from organisers.spreadsheets import XLSX_CONTENT_TYPE, Literal, workbook_bytes


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
