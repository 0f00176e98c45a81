"""Small helpers the market tests share."""

from decimal import Decimal

from market.models import Holding, Participant


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body


def state(team: Participant) -> tuple[Decimal, dict[str, int], int]:
    """What a refusal must leave untouched: cash, holdings and trade count."""
    team.refresh_from_db()
    holdings = dict(Holding.objects.filter(participant=team).values_list("company__ticker", "quantity"))
    return team.cash, holdings, team.transactions.count()


def order(client, side: str, ticker: str, quantity: int, **extra):
    """POST a trade; HTTP_* keyword arguments are headers, the rest body fields."""
    headers = {k: v for k, v in extra.items() if k.startswith("HTTP_")}
    fields = {k: v for k, v in extra.items() if not k.startswith("HTTP_")}
    body = {"ticker": ticker, "type": side, "quantity": quantity, **fields}
    return client.post("/api/transactions", body, format="json", **headers)


def buy(client, ticker: str = "ACME", quantity: int = 1, **extra):
    return order(client, "buy", ticker, quantity, **extra)


def sell(client, ticker: str = "ACME", quantity: int = 1, **extra):
    return order(client, "sell", ticker, quantity, **extra)


def standing_trades(team: Participant):
    """The team's trades that count: every trade not reversed."""
    from market.models import Transaction

    return Transaction.objects.filter(participant=team, reversed_at__isnull=True)


def ledger_cash(team: Participant) -> Decimal:
    """Starting cash − Σ(buy total + fee) + Σ(sell total − fee) + Σ adjustments, over trades not reversed."""
    from market.models import CashAdjustment

    cash = team.starting_cash
    for trade in standing_trades(team):
        cash += -(trade.total + trade.fee) if trade.type == "buy" else trade.total - trade.fee
    for adjustment in CashAdjustment.objects.filter(participant=team):
        cash += adjustment.amount
    return cash


def ledger_holdings(team: Participant) -> dict[str, int]:
    """Σ bought − Σ sold per ticker over trades not reversed (tickers with nothing left omitted)."""
    held: dict[str, int] = {}
    for ticker, side, quantity in standing_trades(team).values_list("company__ticker", "type", "quantity"):
        held[ticker] = held.get(ticker, 0) + (quantity if side == "buy" else -quantity)
    return {ticker: n for ticker, n in held.items() if n}


def assert_ledger_holds(*teams: Participant) -> None:
    """Cash, holdings, value and trade count follow from the rows, reversed trades left out."""
    for team in teams:
        team.refresh_from_db()
        kept = dict(Holding.objects.filter(participant=team, quantity__gt=0).values_list("company__ticker", "quantity"))
        prices = dict(Holding.objects.filter(participant=team).values_list("company__ticker", "company__current_price"))
        assert team.cash >= 0, team
        assert team.cash == ledger_cash(team), team
        assert kept == ledger_holdings(team), team
        assert team.portfolio_value == team.cash + sum((n * prices[t] for t, n in kept.items()), Decimal("0.00"))
        assert team.trade_count == standing_trades(team).count(), team
