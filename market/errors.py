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


def team_sentence(problem: dict, order: dict) -> str:
    """Why the market said no to an order, in the words a team reads on its page (from the refusal's
    problem: a refusal given again for a repeated key is a stored problem, not an exception)."""
    code = problem.get("code")
    ticker = str(order.get("ticker", "")).upper()
    if code == "market_closed":
        return "Market is closed. Your order was not placed; place it again after the opening bell."
    if code == "insufficient_funds":
        return f"Not enough cash: you have {money(problem.get('cash'))} and need {money(problem.get('needed'))}."
    if code == "insufficient_shares":
        held, wanted = count(problem.get("held")), count(order.get("quantity"))
        return f"Not enough shares: you have {held} {ticker} and tried to sell {wanted}."
    if code == "price_changed":
        return (
            f"The price of {ticker} changed to {money(problem.get('price'))} before your order arrived. "
            "Check the new total and place the order again."
        )
    if code == "company_inactive":
        return f"{ticker} cannot be traded right now."
    if code == "too_many_orders":
        return problem.get("detail") or "Your team has too many open orders; cancel one first."
    if code == "participant_frozen":
        return "Your team is frozen by the organisers, so it cannot trade. Ask them why."
    return problem.get("detail") or "The order was refused."
