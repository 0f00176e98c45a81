"""The market's state changes, one module per concern (each a database transaction, each taking
the locks of `locks` in their one order):

- `trading`: a trade at the current price (`trade_execute`), in named steps; `orders`: an order
  placed by a team, once per key (`order_place`, `book_order_place`); `book`: the orders that
  wait (limit and stop), placed, filled, cancelled, expired; `reversals`: a trade undone
  (`trade_reverse`);
- `bells`: a day opens and closes; `prices`: companies and their prices;
- `teams`: sign-up, teams, cash adjustments, a team's value; `event`: the overlay token;
- `audit`: the audit log; `locks`: the lock order, written down once.

Callers import from here: `from market import services`.
"""

from market.services.audit import audit
from market.services.bells import current_day_number, market_close, market_open, open_day
from market.services.book import (
    BookResult,
    book_cancel,
    book_cancel_team,
    book_expire_day,
    book_place,
    reservations_recount,
)
from market.services.event import overlay_token_rotate
from market.services.fills import book_fill_due, fills_after_commit
from market.services.locks import company_prices as company_prices_lock
from market.services.orders import IDEMPOTENCY_KEY, Placed, book_order_place, order_place
from market.services.prices import company_create, company_edit, company_update, price_set
from market.services.reversals import trade_reverse
from market.services.teams import (
    NewTeam,
    cash_adjust,
    participant_create,
    participant_freeze,
    participant_rename,
    revalue,
    signup_is_open,
    team_register,
    team_signup,
    teams_create,
)
from market.services.trading import TradeResult, trade_execute

__all__ = [
    "IDEMPOTENCY_KEY",
    "BookResult",
    "NewTeam",
    "Placed",
    "TradeResult",
    "audit",
    "book_cancel",
    "book_cancel_team",
    "book_expire_day",
    "book_fill_due",
    "book_order_place",
    "book_place",
    "cash_adjust",
    "company_create",
    "company_edit",
    "company_prices_lock",
    "company_update",
    "current_day_number",
    "fills_after_commit",
    "market_close",
    "market_open",
    "open_day",
    "order_place",
    "overlay_token_rotate",
    "participant_create",
    "participant_freeze",
    "participant_rename",
    "price_set",
    "reservations_recount",
    "revalue",
    "signup_is_open",
    "team_register",
    "team_signup",
    "teams_create",
    "trade_execute",
    "trade_reverse",
]
