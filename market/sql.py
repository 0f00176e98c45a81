"""The hand-written SQL of the hot paths (a trade, a price change's revaluation), each statement
named; common/sql.py runs it on PostgreSQL and SQLite alike. Written out where the benchmark shows
it pays (docs/performance.md): a trade is seven statements here, fourteen and two savepoints with
the ORM."""

# A team's holdings at current prices (market.services.teams.revalue computes the same with the
# ORM): one sum, over one join, in both forms below.
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


# A trade (market.services.trading), in order.

# The team with the company and the event's rules, and the open day's number (None: closed).
TEAM_FOR_TRADE = """
    SELECT p.cash, p.reserved_cash, p.is_frozen, p.display_name, p.starting_cash, p.trade_count,
           c.ticker, c.name, c.current_price, c.is_active,
           s.lot_size, s.buy_fee_rate, s.sell_fee_rate,
           (SELECT d.number FROM trading_days d
             WHERE d.opened_at IS NOT NULL AND d.closed_at IS NULL ORDER BY d.number LIMIT 1)
      FROM participants p, companies c, event_settings s
     WHERE p.id = %s AND c.id = %s AND s.id = 1
"""
# Every holding of the team, with its company's price (its portfolio, read once).
TEAM_HOLDINGS = """
    SELECT h.id, h.company_id, h.quantity, h.reserved_quantity, h.average_cost, c.ticker, c.name, c.current_price
      FROM holdings h JOIN companies c ON c.id = h.company_id
     WHERE h.participant_id = %s
     ORDER BY c.ticker
"""
HOLDING_INSERT = (
    "INSERT INTO holdings (participant_id, company_id, quantity, reserved_quantity, average_cost)"
    " VALUES (%s, %s, %s, %s, %s)"
)
HOLDING_UPDATE = "UPDATE holdings SET quantity = %s, reserved_quantity = %s, average_cost = %s WHERE id = %s"
TRADE_INSERT = (
    "INSERT INTO transactions (id, participant_id, company_id, type, quantity, price, fee, day,"
    " idempotency_key, created_at, reversal_reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '')"
)
# The new cash and what orders hold of it, the count, and the value at current prices (SQL sums
# the holdings, so the stored value is the one every other revaluation computes).
TEAM_AFTER_TRADE = (
    "UPDATE participants SET cash = %s, reserved_cash = %s, trade_count = trade_count + 1,"
    " last_trade_at = %s, updated_at = %s,"
    f" portfolio_value = %s + {HOLDINGS_VALUE} WHERE id = %s RETURNING portfolio_value"
)
# A price change's holders revalued in one pass (market.services.prices.price_set).
HOLDERS_REVALUE = (
    "UPDATE participants SET portfolio_value = cash + held.value"
    " FROM ({held}) held WHERE held.participant_id = participants.id"
).format(held=holdings_values("SELECT participant_id FROM holdings WHERE company_id = %s AND quantity > 0"))


# Orders that wait, filled a batch at a time (market.services.fills): what a batch reads once,
# for all its teams and companies, after the trade's locks. `in_list(n)`: n placeholders.
def in_list(count: int) -> str:
    return ", ".join(["%s"] * count)


def teams_for_fills(count: int) -> str:
    """The batch's teams, locked in id order (locks.py), as TEAM_FOR_TRADE reads one."""
    return (
        "SELECT p.id, p.cash, p.reserved_cash, p.is_frozen, p.display_name, p.starting_cash, p.trade_count"
        f" FROM participants p WHERE p.id IN ({in_list(count)}) ORDER BY p.id"
    )


def companies_for_fills(count: int) -> str:
    return (
        f"SELECT c.id, c.ticker, c.name, c.current_price, c.is_active FROM companies c WHERE c.id IN ({in_list(count)})"
    )


def holdings_for_fills(count: int) -> str:
    """TEAM_HOLDINGS for every team of the batch, each row with its team."""
    return (
        "SELECT h.participant_id, h.id, h.company_id, h.quantity, h.reserved_quantity, h.average_cost,"
        " c.ticker, c.name, c.current_price FROM holdings h JOIN companies c ON c.id = h.company_id"
        f" WHERE h.participant_id IN ({in_list(count)}) ORDER BY c.ticker"
    )


# The event's rules and the open day's number (None: closed), as TEAM_FOR_TRADE reads them.
RULES_FOR_FILLS = """
    SELECT s.lot_size, s.buy_fee_rate, s.sell_fee_rate,
           (SELECT d.number FROM trading_days d
             WHERE d.opened_at IS NOT NULL AND d.closed_at IS NULL ORDER BY d.number LIMIT 1)
      FROM event_settings s WHERE s.id = 1
"""
# An order filled: closed, holding nothing, naming its trade (filled_at, closed_at, transaction, id).
ORDER_FILLED = (
    "UPDATE orders SET status = 'filled', reserved = 0, reason = '', filled_at = %s, closed_at = %s,"
    " transaction_id = %s WHERE id = %s"
)
