"""Why the market said no. Each becomes a problem response with its `code` (SPEC §4)."""

from common.problems import DomainError


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


class AlreadyRegistered(Exception):
    """The e-mail or team name is taken (found by the database, after a race)."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(field)
