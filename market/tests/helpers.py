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


def place(client, side: str, kind: str, price: str, quantity: int = 1, ticker: str = "ACME", **extra):
    """POST an order that waits (SPEC §4b); HTTP_* keyword arguments are headers, the rest fields."""
    headers = {k: v for k, v in extra.items() if k.startswith("HTTP_")}
    fields = {k: v for k, v in extra.items() if not k.startswith("HTTP_")}
    body = {"ticker": ticker, "type": side, "kind": kind, "quantity": quantity, "price": price, **fields}
    return client.post("/api/orders", body, format="json", **headers)


def assert_books(team: Participant) -> None:
    """The ledger identity (SPEC §3) and the reservations (§4b): cash from the trades, what the
    open orders hold equal to what the team and its holdings say is held, nothing negative."""
    from django.db.models import Sum

    from market.models import Order

    team.refresh_from_db()
    assert team.cash == ledger_cash(team)
    holdings = {h.company.ticker: h.quantity for h in Holding.objects.filter(participant=team, quantity__gt=0)}
    assert holdings == ledger_holdings(team)
    open_orders = Order.objects.filter(participant=team, status="open")
    assert team.reserved_cash == (open_orders.aggregate(held=Sum("reserved"))["held"] or Decimal("0"))
    assert Decimal("0") <= team.reserved_cash <= team.cash
    for holding in Holding.objects.filter(participant=team).select_related("company"):
        held = open_orders.filter(type="sell", company=holding.company).aggregate(n=Sum("quantity"))["n"] or 0
        assert holding.reserved_quantity == held, holding.company.ticker
        assert 0 <= holding.reserved_quantity <= holding.quantity
    assert not Order.objects.filter(participant=team).exclude(status="open").exclude(reserved=0).exists()
