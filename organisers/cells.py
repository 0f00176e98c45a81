"""Reading a spreadsheet's cells, for every import (teams, companies, news): one way to read a
cell as text, an amount, a yes or no, a JSON object, a time. A cell that cannot be read raises
CellError, whose message the organiser reads beside its row and column."""

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from market.models import MAX_PRICE

# What makes a spreadsheet program take a text for a formula (organisers.spreadsheets escapes it
# on export; cell_text takes the escape off again on import).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the organiser beside row and column."""


def event_time(value: datetime | None) -> datetime | None:
    """A time for a spreadsheet: in the event time zone, to the second, without a zone (Excel has none)."""
    if value is None:
        return None
    return timezone.localtime(value, ZoneInfo(settings.EVENT_TIMEZONE)).replace(tzinfo=None, microsecond=0)


def header_key(header: Any) -> str:
    """`Ticker`, ` TICKER `, `Previous price` → `ticker`, `ticker`, `previous_price`."""
    return re.sub(r"[\s\-]+", "_", str(header or "").strip().lower())


def cell_value_text(value: Any) -> str:
    """A cell's value as the text a person sees in it: numbers typed in a spreadsheet come back
    as floats (written as the digits shown), booleans as TRUE or FALSE, times in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def cell_text(value: Any) -> str:
    """A cell as stripped text. A leading apostrophe that our exports put before a formula-like
    text is dropped again, so an exported file imports back unchanged."""
    text = cell_value_text(value).strip()
    if text.startswith("'") and text[1:2] and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


CENT = Decimal("0.01")


def parse_amount(text: str, *, maximum: Decimal = MAX_PRICE, zero: bool = False) -> Decimal:
    """An amount: digits, a dot and at most two decimals (`12`, `12.5`, `100000.50`; spaces
    between the digits are ignored, thousands separators refused), above 0 (or 0 as well, with
    `zero`) and at most `maximum`."""
    cleaned = text.replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise CellError(
            f"“{text[:30]}” is not an amount: write digits with a dot for decimals, like 12.50 or 100000, "
            "no thousands separators."
        )
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise CellError(f"“{text[:30]}” is not an amount.") from exc
    if amount != amount.quantize(CENT):
        raise CellError(f"{text} has more than 2 decimals.")
    if amount == 0 and not zero:
        raise CellError("The amount must be above 0.")
    if amount > maximum:
        raise CellError(f"The amount is too large (at most {maximum:,}).")
    return amount.quantize(CENT)


TRUE_WORDS = {"true", "yes", "y", "1", "ya", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "tidak", "off"}


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"“{text[:30]}” is not yes or no: write TRUE or FALSE.")


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def parse_json_object(text: str) -> dict:
    """A JSON object such as {"2024": {"revenue": 1200}}; nothing else (no list, no number, no NaN)."""
    example = 'Write a JSON object, for example {"2024": {"revenue": 1200, "profit": 150}}.'
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise CellError(f"This is not valid JSON. {example}") from exc
    if not isinstance(value, dict):
        raise CellError(f"This is JSON but not an object. {example}")
    return value


def parse_event_datetime(text: str) -> datetime:
    """`2025-03-01 09:30`, `2025-03-01T09:30:00`, `2025-03-01` (midnight), with or without an offset;
    without one, the time is in the event time zone."""
    try:
        value = parse_datetime(text)
        if value is None and (day := parse_date(text)) is not None:
            value = datetime(day.year, day.month, day.day)
    except ValueError:
        value = None
    if value is None:
        raise CellError(
            f"“{text[:30]}” is not a date and time: write it like 2025-03-01 09:30 "
            f"({settings.EVENT_TIMEZONE} time), or leave it empty."
        )
    if timezone.is_naive(value):
        value = value.replace(tzinfo=ZoneInfo(settings.EVENT_TIMEZONE))
    return value
