"""Spreadsheets in and out through django-import-export (SPEC §6), one module per kind: the base
(`base`), companies, news, and the exports of teams, trades, orders and the leaderboard."""

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
    ORDER_COLUMNS,
    TRANSACTION_COLUMNS,
    LeaderboardResource,
    OrderResource,
    ParticipantExportResource,
    TransactionResource,
)
from organisers.resources.news import NewsResource

__all__ = [
    "LEADERBOARD_COLUMNS",
    "ORDER_COLUMNS",
    "TRANSACTION_COLUMNS",
    "CompanyResource",
    "LeaderboardResource",
    "NativeExportMixin",
    "NewsResource",
    "OrderResource",
    "ParticipantExportResource",
    "SpreadsheetAdminMixin",
    "SpreadsheetResource",
    "SpreadsheetResult",
    "TransactionResource",
    "import_file",
    "import_report",
]
