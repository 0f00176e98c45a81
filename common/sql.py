"""What hand-written SQL needs to run on PostgreSQL and SQLite alike: values passed the way the
ORM would pass them, and read back as the ORM would read them."""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Model

CENT = Decimal("0.01")


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
