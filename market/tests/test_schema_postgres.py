"""The schema of SPEC §2, read back from PostgreSQL's information_schema."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXPECTED_COLUMNS = {
    "users": {
        "id": "uuid",
        "email": "text",
        "password_hash": "character varying",
        "role": "text",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
    },
    "news": {
        "id": "uuid",
        "title": "text",
        "content": "text",
        "published_at": "timestamp with time zone",
    },
    "companies": {
        "id": "uuid",
        "name": "text",
        "ticker": "text",
        "description": "text",
        "financials": "jsonb",
        "created_at": "timestamp with time zone",
        "current_price": "numeric",
        "previous_price": "numeric",
        "is_active": "boolean",
    },
    "participants": {
        "id": "uuid",
        "user_id": "uuid",
        "display_name": "text",
        "portfolio_value": "numeric",
        "created_at": "timestamp with time zone",
        "school": "text",
        "cash": "numeric",
        "starting_cash": "numeric",
        "is_frozen": "boolean",
    },
    "transactions": {
        "id": "uuid",
        "participant_id": "uuid",
        "company_id": "uuid",
        "type": "text",
        "quantity": "integer",
        "price": "numeric",
        "total": "numeric",
        "created_at": "timestamp with time zone",
        "fee": "numeric",
        "day": "integer",
        "idempotency_key": "text",
    },
}

NOT_NULL = {
    ("users", "email"),
    ("users", "role"),
    ("news", "title"),
    ("news", "content"),
    ("companies", "name"),
    ("companies", "ticker"),
    ("transactions", "type"),
    ("transactions", "quantity"),
    ("transactions", "price"),
}


def columns(table: str) -> dict[str, tuple[str, str, int | None, int | None, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale, is_generated
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s
            """,
            [table],
        )
        return {
            name: (dtype, nullable, precision, scale, generated)
            for name, dtype, nullable, precision, scale, generated in cursor.fetchall()
        }


@pytest.mark.parametrize("table", sorted(EXPECTED_COLUMNS))
def test_tables_have_the_spec_columns_and_types(table):
    found = columns(table)
    for column, data_type in EXPECTED_COLUMNS[table].items():
        assert column in found, f"{table}.{column} is missing"
        assert found[column][0] == data_type, f"{table}.{column} is {found[column][0]}, not {data_type}"


@pytest.mark.parametrize("table, column", sorted(NOT_NULL))
def test_required_columns_are_not_null(table, column):
    assert columns(table)[column][1] == "NO"


def test_prices_and_cash_have_the_spec_precision():
    assert columns("companies")["current_price"][2:4] == (14, 2)
    assert columns("companies")["previous_price"][2:4] == (14, 2)
    assert columns("participants")["cash"][2:4] == (16, 2)


def test_news_published_at_may_be_null_for_drafts():
    assert columns("news")["published_at"][1] == "YES"


def test_transaction_total_is_generated_always_and_stored():
    assert columns("transactions")["total"][4] == "ALWAYS"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generation_expression FROM information_schema.columns "
            "WHERE table_name = 'transactions' AND column_name = 'total'"
        )
        (expression,) = cursor.fetchone()
    assert "quantity" in expression and "price" in expression


@pytest.mark.parametrize(
    "table, column, referenced",
    [
        ("participants", "user_id", "users"),
        ("transactions", "participant_id", "participants"),
        ("holdings", "participant_id", "participants"),
    ],
)
def test_foreign_keys_cascade_at_the_database(table, column, referenced):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT ccu.table_name, rc.delete_rule
            FROM information_schema.referential_constraints rc
            JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
            JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.constraint_name
            WHERE kcu.table_name = %s AND kcu.column_name = %s
            """,
            [table, column],
        )
        assert cursor.fetchall() == [(referenced, "CASCADE")]


def unique_indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE 'CREATE UNIQUE%%'", [table]
        )
        return [row[0] for row in cursor.fetchall()]


def test_email_is_unique_case_insensitively():
    assert any("lower(email)" in index for index in unique_indexes("users"))


def test_participant_user_ticker_and_holding_pair_are_unique():
    assert any("(user_id)" in index for index in unique_indexes("participants"))
    assert any("(ticker)" in index for index in unique_indexes("companies"))
    assert any("(participant_id, company_id)" in index for index in unique_indexes("holdings"))
    assert any("(participant_id, idempotency_key)" in index for index in unique_indexes("transactions"))


def check_clauses(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(pg_get_constraintdef(c.oid), ' ') FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s AND c.contype = 'c'",
            [table],
        )
        return cursor.fetchone()[0]


def test_check_constraints_exist_for_the_spec_rules():
    assert "'admin'::text" in check_clauses("users") and "'participant'::text" in check_clauses("users")
    assert "cash >= (0)::numeric" in check_clauses("participants")
    assert "'buy'::text" in check_clauses("transactions") and "quantity > 0" in check_clauses("transactions")
    assert "price > (0)::numeric" in check_clauses("transactions")
    assert "current_price > (0)::numeric" in check_clauses("companies")
    assert "quantity >= 0" in check_clauses("holdings")
