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
