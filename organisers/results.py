"""The results workbook: what organisers keep after the event. One .xlsx with the final
leaderboard, each team's value by day, every transaction, each company's closing price by day,
every limit and stop order (SPEC §4b), the schools' standings and each day's winners (the same
computation as the stream's podium and schools scenes: organisers.standings); written by
`manage.py export_results`, the admin and GET /api/admin/results.

Each sheet is a few queries whatever the size, rows streamed from `.iterator()` into a
write-only workbook, so 100,000 transactions do not become 100,000 model objects.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.utils import timezone

from market import selectors
from market.models import Company, DailyValue, Order, PricePoint, TradingDay, Transaction
from organisers.cells import event_time
from organisers.resources import (
    LEADERBOARD_COLUMNS,
    ORDER_COLUMNS,
    TRANSACTION_COLUMNS,
    OrderResource,
    TransactionResource,
)
from organisers.spreadsheets import XLSX_CONTENT_TYPE, workbook_bytes
from organisers.standings import day_winners, school_standings

CHUNK = 2000

Sheet = tuple[list[str], Iterable[list[Any]]]


def results_workbook() -> bytes:
    """The whole workbook as .xlsx bytes, every text cell inert."""
    opened = TradingDay.objects.filter(opened_at__isnull=False).order_by("number")
    days = list(opened.values_list("number", "closed_at"))
    return workbook_bytes(
        {
            "Leaderboard": leaderboard_sheet(),
            "Values by day": values_by_day_sheet(),
            "Transactions": transactions_sheet(),
            "Prices by day": prices_by_day_sheet(days),
            "Orders": orders_sheet(),
            "Schools": schools_sheet(),
            "Day winners": day_winners_sheet(),
        }
    )


def results_filename(now: datetime | None = None) -> str:
    return f"brainstorm-results-{event_time(now or timezone.now()):%Y-%m-%d-%H%M}.xlsx"


def results_response() -> HttpResponse:
    """The workbook as a download."""
    response = HttpResponse(results_workbook(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{results_filename()}"'
    return response


def leaderboard_sheet() -> Sheet:
    def rows() -> Iterator[list[Any]]:
        for team in selectors.leaderboard().iterator(chunk_size=CHUNK):
            entry = selectors.leaderboard_entry(team)
            yield [entry[column] for column in LEADERBOARD_COLUMNS]

    return list(LEADERBOARD_COLUMNS), rows()


def values_by_day_sheet() -> Sheet:
    """One row per team, in leaderboard order: starting cash, its value at each day's close, now."""
    days = list(DailyValue.objects.order_by("day").values_list("day", flat=True).distinct())
    values: dict[Any, dict[int, Decimal]] = {}
    for participant_id, day, value in DailyValue.objects.values_list("participant_id", "day", "value").iterator(
        chunk_size=CHUNK
    ):
        values.setdefault(participant_id, {})[day] = value
    headers = ["rank", "display_name", "school", "starting_cash", *[f"day {day}" for day in days], "current"]

    def rows() -> Iterator[list[Any]]:
        teams = selectors.leaderboard().values_list(
            "rank", "pk", "display_name", "school", "starting_cash", "portfolio_value"
        )
        for rank, pk, name, school, starting_cash, current in teams.iterator(chunk_size=CHUNK):
            by_day = values.get(pk, {})
            yield [rank, name, school, starting_cash, *[by_day.get(day) for day in days], current]

    return headers, rows()


def transactions_sheet() -> Sheet:
    """Every trade, oldest first, with the columns of the admin's export (TransactionResource):
    times in the event time zone, teams by name (no e-mail), a reversed trade with the time it
    was reversed."""
    return _resource_sheet(TransactionResource(), TRANSACTION_COLUMNS, Transaction.objects.order_by("created_at", "id"))


def orders_sheet() -> Sheet:
    """Every limit and stop order, oldest first, open or ended, with the columns of the admin's
    export (OrderResource): a filled one names its trade, a cancelled or rejected one says why."""
    return _resource_sheet(OrderResource(), ORDER_COLUMNS, Order.objects.order_by("created_at", "id"))


def _resource_sheet(resource, columns, rows_of) -> Sheet:
    """The columns of an export resource, read in one query: times in the event time zone, ids as text."""
    fields = [resource.fields[name] for name in columns]
    cells_of = rows_of.values_list(*(field.attribute for field in fields))

    def rows() -> Iterator[list[Any]]:
        for cells in cells_of.iterator(chunk_size=CHUNK):
            yield [_cell(value) for value in cells]

    return [field.column_name for field in fields], rows()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return event_time(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def prices_by_day_sheet(days: list[tuple[int, datetime | None]]) -> Sheet:
    """Each company's close on each trading day (the last price at or before the closing bell;
    for a day still open, its latest price), as `selectors.price_chart` draws it, and its price now."""
    closes: dict[Any, list[Decimal | None]] = {}
    history = PricePoint.objects.order_by("company_id", "at", "id").values_list("company_id", "at", "price")
    for company_id, points in groupby(history.iterator(chunk_size=CHUNK), key=lambda point: point[0]):
        closes[company_id] = selectors.day_closes([(at, price) for _company, at, price in points], days)
    headers = ["ticker", "name", *[f"day {number}" + ("" if closed_at else " (open)") for number, closed_at in days]]
    headers.append("current")

    def rows() -> Iterator[list[Any]]:
        companies = Company.objects.order_by("ticker").values_list("pk", "ticker", "name", "current_price")
        for pk, ticker, name, current in companies.iterator(chunk_size=CHUNK):
            yield [ticker, name, *closes.get(pk, [None] * len(days)), current]

    return headers, rows()


SCHOOL_COLUMNS = [
    "rank",
    "school",
    "teams",
    "combined_value",
    "combined_return_pct",
    "average_return_pct",
    "best_team",
    "best_team_value",
    "best_team_return_pct",
]
DAY_WINNER_COLUMNS = ["day", "place", "display_name", "school", "value_at_close", "day_return_pct"]


def schools_sheet() -> Sheet:
    """Each school: its teams' combined value and return, their average return, its best team."""

    def rows() -> Iterator[list[Any]]:
        for row in school_standings():
            best = row["best_team"]
            yield [
                row["rank"],
                row["school"],
                row["teams"],
                row["combined_value"],
                row["combined_return_pct"],
                row["average_return_pct"],
                best["display_name"],
                best["total_value"],
                best["return_pct"],
            ]

    return list(SCHOOL_COLUMNS), rows()


def day_winners_sheet() -> Sheet:
    """Each closed day's best returns of the day, first three places."""
    return list(DAY_WINNER_COLUMNS), ([row[column] for column in DAY_WINNER_COLUMNS] for row in day_winners())
