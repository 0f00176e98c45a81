"""An organiser reverses one trade: it is undone exactly, logged, and refused when it cannot be."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from common.problems import InvalidInput
from market import services
from market.errors import ReversalRefused
from market.models import AuditEntry, EventSettings, Holding, Transaction
from market.tests.helpers import assert_ledger_holds, assert_problem, buy, sell, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def fees(db):
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal("0.0015"), sell_fee_rate=Decimal("0.0025"))


def traded(response) -> Transaction:
    assert response.status_code == 201, response.content
    return Transaction.objects.get(pk=response.json()["transaction"]["id"])


def holding(team, ticker: str = "ACME") -> Holding | None:
    return Holding.objects.filter(participant=team, company__ticker=ticker).first()


def reverse(admin_api, trade, reason="Entered by mistake"):
    return admin_api.post(f"/api/admin/transactions/{trade.pk}/reverse", {"reason": reason}, format="json")


# Undone exactly


def test_reversing_a_buy_gives_back_the_total_and_fee_and_removes_the_shares(
    fees, company, team, team_api, open_market, admin_user
):
    start = team.cash
    bought = traded(buy(team_api, "ACME", 10))  # 100.00 + fee 0.15

    reversed_trade = services.trade_reverse(trade=bought, by=admin_user, reason="Entered by mistake")

    team.refresh_from_db()
    assert team.cash == start
    assert team.portfolio_value == start
    assert holding(team).quantity == 0
    assert holding(team).average_cost == 0
    assert (team.trade_count, team.last_trade_at) == (0, None)
    assert reversed_trade.reversed_at is not None
    assert (reversed_trade.reversed_by, reversed_trade.reversal_reason) == (admin_user, "Entered by mistake")
    assert_ledger_holds(team)


def test_reversing_a_sell_takes_back_the_proceeds_and_returns_the_shares(
    fees, company, team, team_api, open_market, admin_user
):
    traded(buy(team_api, "ACME", 10))
    services.price_set(company=company, price=Decimal("12.00"), by=admin_user)
    team.refresh_from_db()
    before_sale = team.cash
    sold = traded(sell(team_api, "ACME", 4))  # 48.00 − fee 0.12
    team.refresh_from_db()
    assert team.cash == before_sale + Decimal("47.88")

    services.trade_reverse(trade=sold, by=admin_user, reason="Sold the wrong company")

    team.refresh_from_db()
    assert team.cash == before_sale
    assert holding(team).quantity == 10
    assert holding(team).average_cost == Decimal("10.00")
    assert team.portfolio_value == before_sale + 10 * Decimal("12.00")
    assert team.trade_count == 1
    assert_ledger_holds(team)


def test_reversing_a_sale_that_emptied_the_holding_brings_back_its_average_cost(
    company, team, team_api, open_market, admin_user
):
    traded(buy(team_api, "ACME", 10))  # at 10.00
    services.price_set(company=company, price=Decimal("14.00"), by=admin_user)
    sold = traded(sell(team_api, "ACME", 10))
    assert (holding(team).quantity, holding(team).average_cost) == (0, 0)

    services.trade_reverse(trade=sold, by=admin_user, reason="Sold by a bug")

    assert (holding(team).quantity, holding(team).average_cost) == (10, Decimal("10.00"))
    assert team_api.get("/api/portfolio").json()["holdings"][0]["unrealized_pl"] == "40.00"
    assert_ledger_holds(team)


def test_reversing_an_earlier_buy_leaves_the_average_cost_of_the_buys_that_stand(
    company, team, team_api, open_market, admin_user
):
    first = traded(buy(team_api, "ACME", 10))  # at 10.00
    services.price_set(company=company, price=Decimal("20.00"), by=admin_user)
    traded(buy(team_api, "ACME", 10))  # at 20.00: average 15.00
    assert holding(team).average_cost == Decimal("15.00")

    services.trade_reverse(trade=first, by=admin_user, reason="Bought before the bell by a bug")

    assert (holding(team).quantity, holding(team).average_cost) == (10, Decimal("20.00"))
    team.refresh_from_db()
    assert team.trade_count == 1
    assert team.last_trade_at is not None  # the later buy still stands
    assert_ledger_holds(team)


def test_reversing_a_trade_changes_nothing_for_another_team(
    company, team, other_team, team_api, open_market, admin_user
):
    other_api = APIClient()
    other_api.force_authenticate(other_team.user)
    traded(buy(other_api, "ACME", 7))
    outsider_before = state(other_team)
    other_team.refresh_from_db()
    outsider_value = other_team.portfolio_value

    services.trade_reverse(trade=traded(buy(team_api, "ACME", 3)), by=admin_user, reason="Duplicate order")

    assert state(other_team) == outsider_before
    other_team.refresh_from_db()
    assert other_team.portfolio_value == outsider_value
    assert_ledger_holds(team, other_team)


def test_the_leaderboard_counts_only_trades_that_stand(company, team, team_api, open_market, admin_api, admin_user):
    first = traded(buy(team_api, "ACME", 1))
    traded(buy(team_api, "ACME", 1))

    services.trade_reverse(trade=first, by=admin_user, reason="Duplicate order")

    entry = admin_api.get("/api/leaderboard").json()["results"][0]
    assert (entry["display_name"], entry["trades"], entry["total_value"]) == ("Bull Riders", 1, "100000.00")


def test_a_trade_can_be_reversed_while_the_market_is_closed_and_the_team_frozen(
    company, team, team_api, open_market, admin_user
):
    bought = traded(buy(team_api, "ACME", 5))
    services.market_close(by=admin_user)
    services.participant_freeze(participant=team, by=admin_user)

    services.trade_reverse(trade=bought, by=admin_user, reason="Bought by a bug")

    team.refresh_from_db()
    assert team.cash == team.starting_cash
    assert_ledger_holds(team)


# Refused: nothing changes


def test_reversing_a_buy_is_refused_when_the_shares_are_gone(company, team, team_api, open_market, admin_user):
    bought = traded(buy(team_api, "ACME", 10))
    traded(sell(team_api, "ACME", 6))
    before = state(team)

    with pytest.raises(ReversalRefused, match="holds 4 ACME now; reversing this buy would take away 10"):
        services.trade_reverse(trade=bought, by=admin_user, reason="Bought by a bug")

    assert state(team) == before
    assert Transaction.objects.get(pk=bought.pk).reversed_at is None
    assert not AuditEntry.objects.filter(action="trade_reverse").exists()
    assert_ledger_holds(team)


def test_reversing_a_sell_is_refused_when_the_cash_is_spent(company, make_team, open_market, admin_user):
    poor = make_team("Shoestring", starting_cash=Decimal("100.00"))
    api = APIClient()
    api.force_authenticate(poor.user)
    traded(buy(api, "ACME", 10))  # cash 0.00
    sold = traded(sell(api, "ACME", 10))  # cash 100.00
    traded(buy(api, "ACME", 10))  # cash 0.00 again
    before = state(poor)

    with pytest.raises(ReversalRefused, match=r"has 0\.00 in cash now; reversing this sale would take back 100\.00"):
        services.trade_reverse(trade=sold, by=admin_user, reason="Sold by a bug")

    assert state(poor) == before
    assert_ledger_holds(poor)


def test_a_trade_is_reversed_once_only(company, team, team_api, open_market, admin_user):
    bought = traded(buy(team_api, "ACME", 2))
    services.trade_reverse(trade=bought, by=admin_user, reason="Duplicate order")
    before = state(team)

    with pytest.raises(ReversalRefused, match="already been reversed"):
        services.trade_reverse(trade=bought, by=admin_user, reason="Again")

    assert state(team) == before
    assert Transaction.objects.get(pk=bought.pk).reversal_reason == "Duplicate order"
    assert AuditEntry.objects.filter(action="trade_reverse").count() == 1
    assert_ledger_holds(team)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reversal_without_a_reason_is_refused(company, team, team_api, open_market, admin_user, reason):
    bought = traded(buy(team_api, "ACME", 2))
    before = state(team)

    with pytest.raises(InvalidInput) as refusal:
        services.trade_reverse(trade=bought, by=admin_user, reason=reason)

    assert refusal.value.errors == {"reason": ["This field may not be blank."]}
    assert state(team) == before
    assert Transaction.objects.get(pk=bought.pk).reversed_at is None


# Logged and announced


def test_a_reversal_is_audited_with_who_what_and_the_cash_and_holding_before_and_after(
    fees, company, team, team_api, open_market, admin_user
):
    bought = traded(buy(team_api, "ACME", 10))
    team.refresh_from_db()

    services.trade_reverse(trade=bought, by=admin_user, reason="  Entered by mistake  ")

    entry = AuditEntry.objects.get(action="trade_reverse")
    assert entry.actor == admin_user
    assert entry.target == f"transaction:{bought.pk}"
    assert entry.data["reason"] == "Entered by mistake"
    assert (entry.data["ticker"], entry.data["type"], entry.data["quantity"]) == ("ACME", "buy", 10)
    assert (entry.data["cash_before"], entry.data["cash_after"]) == (str(team.cash), "100000.00")
    assert (entry.data["holding_before"], entry.data["holding_after"]) == (10, 0)


def test_a_reversal_sends_the_team_its_portfolio_and_a_leaderboard_after_commit(
    company, team, team_api, open_market, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    bought = traded(buy(team_api, "ACME", 10))
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **where: sent.append((event, where)))
    monkeypatch.setattr("market.events.send_now", lambda event, **where: sent.append((event, where)))

    with django_capture_on_commit_callbacks(execute=True):
        services.trade_reverse(trade=bought, by=admin_user, reason="Duplicate order")
        assert sent == []  # nothing before the commit

    portfolio = [(e["data"], where["to"]) for e, where in sent if e["type"] == "portfolio"]
    assert [(data["cash"], data["holdings"], to) for data, to in portfolio] == [("100000.00", [], team.user_id)]
    # With it, the trade now marked reversed: the team's history page shows it without asking.
    assert portfolio[0][0]["transaction"]["id"] == str(bought.pk)
    assert portfolio[0][0]["transaction"]["reversed_at"] is not None
    assert [e["type"] for e, _ in sent if e["type"] == "leaderboard"] == ["leaderboard"]
    assert "trade" not in [e["type"] for e, _ in sent]


# What the team and the organisers see


def test_the_team_sees_the_trade_marked_reversed_in_its_history(
    client, company, team, team_api, open_market, admin_user
):
    bought = traded(buy(team_api, "ACME", 3))
    traded(buy(team_api, "ACME", 1))
    services.trade_reverse(trade=bought, by=admin_user, reason="Duplicate order")

    listed = team_api.get("/api/transactions").json()["results"]
    assert [row["reversed_at"] is not None for row in listed] == [False, True]

    client.force_login(team.user)
    page = client.get("/history/").content.decode()
    assert page.count('<span class="tag"') == 1
    assert ">reversed</span>" in page


def test_the_admin_transaction_list_shows_and_filters_reversed_trades(
    client, company, team, team_api, open_market, admin_user
):
    bought = traded(buy(team_api, "ACME", 3))
    kept = traded(buy(team_api, "ACME", 1))
    services.trade_reverse(trade=bought, by=admin_user, reason="Duplicate order")
    client.force_login(admin_user)

    page = client.get("/admin/market/transaction/").content.decode()
    assert "Reversed at" in page
    only_reversed = client.get("/admin/market/transaction/", {"reversed_at__isempty": "0"})
    assert [t.pk for t in only_reversed.context["cl"].result_list] == [bought.pk]
    standing = client.get("/admin/market/transaction/", {"reversed_at__isempty": "1"})
    assert [t.pk for t in standing.context["cl"].result_list] == [kept.pk]


# The API


def test_an_organiser_reverses_a_trade_through_the_api(fees, company, team, team_api, open_market, admin_api):
    bought = traded(buy(team_api, "ACME", 10))

    response = reverse(admin_api, bought)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["team"], body["ticker"], body["type"]) == (str(bought.pk), "Bull Riders", "ACME", "buy")
    assert body["reversed_at"] is not None
    assert body["reversal_reason"] == "Entered by mistake"
    assert team_api.get("/api/portfolio").json()["cash"] == "100000.00"
    assert admin_api.get(f"/api/admin/transactions/{bought.pk}").json()["reversed_at"] == body["reversed_at"]


def test_a_refused_reversal_through_the_api_is_a_409_in_words(company, team, team_api, open_market, admin_api):
    bought = traded(buy(team_api, "ACME", 10))
    traded(sell(team_api, "ACME", 10))

    body = assert_problem(reverse(admin_api, bought), 409, "reversal_refused")

    assert body["detail"] == "Bull Riders holds 0 ACME now; reversing this buy would take away 10."
    assert_problem(reverse(admin_api, bought, reason=""), 400, "validation_error")
    assert_problem(
        admin_api.post(f"/api/admin/transactions/{bought.pk}/reverse", {}, format="json"), 400, "validation_error"
    )
    assert_problem(
        admin_api.post(f"/api/admin/transactions/{bought.pk}/reverse", {"reason": "x", "cash": "1"}, format="json"),
        400,
        "validation_error",
    )


def test_only_organisers_may_reverse_trades(company, team, team_api, open_market, api):
    bought = traded(buy(team_api, "ACME", 10))
    before = state(team)

    assert_problem(reverse(team_api, bought), 403, "permission_denied")
    assert_problem(reverse(api, bought), 401, "not_authenticated")

    assert state(team) == before
    assert Transaction.objects.get(pk=bought.pk).reversed_at is None


def test_reversing_an_unknown_trade_is_a_404(admin_api):
    assert_problem(
        admin_api.post("/api/admin/transactions/00000000-0000-0000-0000-000000000000/reverse", {"reason": "x"}),
        404,
        "not_found",
    )
    assert_problem(admin_api.post("/api/admin/transactions/not-a-uuid/reverse", {"reason": "x"}), 404, "not_found")
