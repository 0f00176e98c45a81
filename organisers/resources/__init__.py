"""Spreadsheets in and out through django-import-export (SPEC §6), one module per kind: the base
(`base`), companies, news, and the exports of teams, trades and the leaderboard."""

from organisers.resources.base import (
    NativeExportMixin,
    SpreadsheetAdminMixin,
    SpreadsheetResource,
    SpreadsheetResult,
    import_file,
    import_report,
)
from organisers.resources.companies import CompanyResource
from organisers.resources.exports import (
    LEADERBOARD_COLUMNS,
    TRANSACTION_COLUMNS,
    LeaderboardResource,
    ParticipantExportResource,
    TransactionResource,
)
from organisers.resources.news import NewsResource

__all__ = [
    "LEADERBOARD_COLUMNS",
    "TRANSACTION_COLUMNS",
    "CompanyResource",
    "LeaderboardResource",
    "NativeExportMixin",
    "NewsResource",
    "ParticipantExportResource",
    "SpreadsheetAdminMixin",
    "SpreadsheetResource",
    "SpreadsheetResult",
    "TransactionResource",
    "import_file",
    "import_report",
]
