"""The locks every state change takes, always in one order, so that nothing deadlocks:

    event settings (the bell's own row) → the bell → a company → participants (by id) → holdings.

On PostgreSQL "the bell" and "a company" are transaction-scoped advisory locks: a trade holds
both shared, the closing bell takes the bell exclusively and a price change its company. The lock
manager queues them fairly: once a bell or a price change is waiting, trades that come after it
wait behind it, so a stream of trades can never hold either off. (Shared row locks would not do:
PostgreSQL grants a new share lock on a row even while an update waits for it.) So the closing
bell waits for the trades under way and no trade slips in after it; a price change waits for
trades under way on that company and the next ones fill at the new price; trades of different
teams on one hot stock run side by side; and one team's trades run one at a time on its
participant row. Every change to a team's holdings (a trade, a reversal) takes its participant row
first, so a trade reads the holdings without locking them again; a reversal still locks its one
holding. SQLite's IMMEDIATE transactions serialise every writer instead.
"""

from django.db import connection

from market.models import Company, EventSettings

BELL_LOCK = 1  # advisory lock keys: (BELL_LOCK, 0) the bell; (COMPANY_LOCK, hash of id) a company
COMPANY_LOCK = 2


def _advisory(sql: str, *params) -> None:
    if connection.vendor == "postgresql":  # SQLite: IMMEDIATE transactions serialise every writer
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def for_trade(company_pk) -> None:
    """Until this transaction ends: no closing bell, no price change of this company."""
    _advisory(
        "SELECT pg_advisory_xact_lock_shared(%s, 0), pg_advisory_xact_lock_shared(%s, hashtext(%s::text))",
        BELL_LOCK,
        COMPANY_LOCK,
        str(company_pk),
    )


def company_price(company_pk) -> None:
    """Wait for trades under way on this company; later ones wait for this transaction."""
    _advisory("SELECT pg_advisory_xact_lock(%s, hashtext(%s::text))", COMPANY_LOCK, str(company_pk))


def company_prices() -> None:
    """Every company's price lock, in one order: for one transaction that changes several prices
    (an import). Taken before any team row, as a single price change takes its one company's."""
    for pk in Company.objects.order_by("pk").values_list("pk", flat=True):
        company_price(pk)


def bell() -> None:
    """The bell is rung by one at a time (the event settings row is its lock)."""
    EventSettings.load()
    EventSettings.objects.select_for_update().get(pk=1)


def bell_after_trades() -> None:
    """The bell itself, exclusively: waits for the trades under way, holds off those after."""
    _advisory("SELECT pg_advisory_xact_lock(%s, 0)", BELL_LOCK)
