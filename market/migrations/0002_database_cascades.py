"""Make the database itself cascade deletes where the schema says ON DELETE CASCADE.

Django 5.2 cascades in Python only; scripts and tools that delete rows with SQL must get the
same result. PostgreSQL only: SQLite is the embedded demo database.
"""

from django.db import migrations

CASCADES = [
    # (table, column, referenced table)
    ("participants", "user_id", "users"),
    ("transactions", "participant_id", "participants"),
    ("holdings", "participant_id", "participants"),
    ("daily_values", "participant_id", "participants"),
    ("price_history", "company_id", "companies"),
]


def _foreign_key_name(cursor, table: str, column: str) -> str:
    cursor.execute(
        """
        SELECT tc.constraint_name
        FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage kcu
          ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
        WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = %s AND kcu.column_name = %s
        """,
        [table, column],
    )
    return cursor.fetchone()[0]


def _set_on_delete(schema_editor, clause: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for table, column, referenced in CASCADES:
            name = _foreign_key_name(cursor, table, column)
            cursor.execute(
                f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}, "
                f"ADD CONSTRAINT {quote(name)} FOREIGN KEY ({quote(column)}) "
                f"REFERENCES {quote(referenced)} (id) {clause} DEFERRABLE INITIALLY DEFERRED"
            )


def forwards(apps, schema_editor) -> None:
    _set_on_delete(schema_editor, "ON DELETE CASCADE")


def backwards(apps, schema_editor) -> None:
    _set_on_delete(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
