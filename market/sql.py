"""What the hand-written SQL of the hot paths (trades, ranks) needs to run on PostgreSQL and SQLite
alike: values passed the way the ORM would pass them, and read back as the ORM would read them."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Model

from market.money import CENT

# A team's holdings at current prices, in the hand-written SQL (market.services.revalue computes
# the same with the ORM): one sum, over one join, in both forms below.
_HELD = "holdings h JOIN companies c ON c.id = h.company_id"
_HELD_VALUE = "SUM(h.quantity * c.current_price)"
# For the participant row being updated (the trade's one team).
HOLDINGS_VALUE = f"COALESCE((SELECT {_HELD_VALUE} FROM {_HELD} WHERE h.participant_id = participants.id), 0)"


def holdings_values(teams: str) -> str:
    """For many teams at once (a price change's holders): rows of `participant_id, value`, one per
    team of the `teams` subquery that holds anything. One pass over their holdings, where
    HOLDINGS_VALUE would sum them again for each team."""
    return (
        f"SELECT h.participant_id, {_HELD_VALUE} AS value FROM {_HELD}"
        f" WHERE h.participant_id IN ({teams}) GROUP BY h.participant_id"
    )


def for_update(table: str) -> str:
    """Lock the rows read from `table` (PostgreSQL; SQLite's IMMEDIATE transactions lock it all)."""
    return f" FOR UPDATE OF {table}" if connection.vendor == "postgresql" else ""


def db_id(model: type[Model], value) -> object:
    """A primary key as the database takes it (a UUID, or 32 hex digits on SQLite)."""
    return model._meta.pk.get_db_prep_value(value, connection)


def as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def db_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def decimal_of(value, places: Decimal | None = None) -> Decimal:
    """A NUMERIC read back: Decimal on PostgreSQL; on SQLite an int or a float, which holds the
    stored decimal to its shortest representation (repr), as the ORM's converter reads it."""
    if not isinstance(value, Decimal):
        value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value.quantize(places) if places is not None else value


def money_of(value) -> Decimal:
    return decimal_of(value, CENT)


class Columns:
    """A model's columns in hand-written SQL (`alias.column, …`), and its rows read back as the
    ORM would read them: the database backend's and the fields' converters applied (SQLite keeps
    UUIDs as text and booleans as integers), the instance made by `Model.from_db`."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}" for field in self.fields)
        self._attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list] = {}  # per database alias

    def __len__(self) -> int:
        return len(self.fields)

    def load(self, values) -> Model:
        converters = self._converters.get(connection.alias)
        if converters is None:
            converters = self._converters[connection.alias] = self._converters_for(connection)
        values = list(values)
        for index, col, field_converters in converters:
            for converter in field_converters:
                values[index] = converter(values[index], col, connection)
        return self.model.from_db(connection.alias, self._attnames, values)

    def _converters_for(self, db) -> list:
        found = []
        for index, field in enumerate(self.fields):
            col = field.get_col(self.model._meta.db_table)
            field_converters = [*db.ops.get_db_converters(col), *col.get_db_converters(db)]
            if field_converters:
                found.append((index, col, field_converters))
        return found
