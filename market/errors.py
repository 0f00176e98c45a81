"""Why the market said no. Each becomes a problem response with its `code` (SPEC §4)."""

from common.problems import DomainError
from market.templatetags.money import count, money


class MarketClosed(DomainError):
    code = "market_closed"
    title = "Market is closed"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    title = "Not enough cash"


class InsufficientShares(DomainError):
    code = "insufficient_shares"
    title = "Not enough shares"


class PriceChanged(DomainError):
    code = "price_changed"
    title = "The price has changed"


class CompanyInactive(DomainError):
    code = "company_inactive"
    title = "Company cannot be traded"


class ParticipantFrozen(DomainError):
    code = "participant_frozen"
    title = "Team is frozen"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency key already used for another request"


class MarketAlreadyOpen(DomainError):
    code = "market_already_open"
    title = "Market is already open"


class MarketAlreadyClosed(DomainError):
    code = "market_already_closed"
    title = "Market is already closed"


class LeaderboardHidden(DomainError):
    code = "leaderboard_hidden"
    status = 403
    title = "Leaderboard is hidden"


class CompanyHasTrades(DomainError):
    code = "company_has_trades"
    title = "Company has trades"


class ReversalRefused(DomainError):
    code = "reversal_refused"
    title = "Trade cannot be reversed"


class SignupClosed(DomainError):
    code = "signup_closed"
    status = 403
    title = "Sign-up is closed"


class OrderNotOpen(DomainError):
    code = "order_not_open"
    title = "Order is not open"


class TooManyOrders(DomainError):
    code = "too_many_orders"
    title = "Too many open orders"


class AlreadyRegistered(Exception):
    """The e-mail or team name is taken (found by the database, after a race)."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(field)


def team_sentence(problem: dict, order: dict, *, held_cash=None, held_shares: int = 0) -> str:
    """Why the market said no to an order, in the words a team reads on its page (from the refusal's
    problem: a refusal given again for a repeated key is a stored problem, not an exception).
    `held_cash` and `held_shares`: what the team's open orders hold, named when a trade is short of
    what is free."""
    code = problem.get("code")
    ticker = str(order.get("ticker", "")).upper()
    if code == "insufficient_funds":
        return _short_of_cash(problem, order, held_cash)
    if code == "insufficient_shares":
        return _short_of_shares(problem, order, ticker, held_shares)
    if code == "price_changed":
        return (
            f"The price of {ticker} changed to {money(problem.get('price'))} before your order arrived. "
            "Check the new total and place the order again."
        )
    if code == "company_inactive":
        return f"{ticker} cannot be traded right now."
    if code == "order_not_open":
        return ORDER_ENDED.get(problem.get("order_status"), "This order is no longer open.")
    # too_many_orders and the rest: the detail (it names the event's limit of open orders).
    return _FIXED.get(code) or problem.get("detail") or "The order was refused."


_FIXED = {
    "market_closed": "Market is closed. Your order was not placed; place it again after the opening bell.",
    "participant_frozen": "Your team is frozen by the organisers, so it cannot trade. Ask them why.",
}

# Why an order could not be cancelled: it had ended meanwhile (filled by a price change, say).
ORDER_ENDED = {
    "filled": "This order was already filled, so there is nothing to cancel: see the trade in your history.",
    "cancelled": "This order was already cancelled.",
    "expired": "This order already expired at the end of its trading day.",
    "rejected": "This order was already rejected, so there is nothing to cancel.",
}


def _waits(order: dict) -> bool:
    return order.get("kind") in ("limit", "stop")


def _short_of_cash(problem: dict, order: dict, held) -> str:
    cash, needed = money(problem.get("cash")), money(problem.get("needed"))
    if _waits(order):
        return f"Not enough cash: this order needs {needed} and you have {cash} free."
    if held:
        return (
            f"Not enough cash: you have {cash} free ({money(held)} more is held by your open orders) and need {needed}."
        )
    return f"Not enough cash: you have {cash} and need {needed}."


def _short_of_shares(problem: dict, order: dict, ticker: str, held: int) -> str:
    free, wanted = count(problem.get("held")), count(order.get("quantity"))
    if _waits(order):
        return f"Not enough shares: you have {free} {ticker} free to sell and the order needs {wanted}."
    if held:
        return (
            f"Not enough shares: you have {free} {ticker} free ({count(held)} more held by your open orders) "
            f"and tried to sell {wanted}."
        )
    return f"Not enough shares: you have {free} {ticker} and tried to sell {wanted}."
