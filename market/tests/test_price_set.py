from decimal import Decimal

import pytest

from market.models import AuditEntry, PricePoint
from market.tests.helpers import assert_problem, buy

pytestmark = pytest.mark.django_db


def patch_price(client, company, price):
    return client.patch(f"/api/admin/companies/{company.pk}", {"current_price": price}, format="json")


def test_admin_price_change_records_history_revalues_holders_and_audits(
    admin_api, admin_user, team_api, team, other_team, company, open_market
):
    buy(team_api, quantity=100)

    response = patch_price(admin_api, company, "12.50")

    assert response.status_code == 200
    assert response.json()["price"] == "12.50"
    assert response.json()["previous_price"] == "10.00"
    assert response.json()["change_pct"] == "25.00"
    point = PricePoint.objects.filter(company=company).latest("at")
    assert (point.price, point.day) == (Decimal("12.50"), 1)
    team.refresh_from_db()
    other_team.refresh_from_db()
    assert team.portfolio_value == Decimal("100250.00")
    assert other_team.portfolio_value == Decimal("100000.00")  # holds nothing
    entry = AuditEntry.objects.get(action="price_set")
    assert entry.actor == admin_user
    assert entry.data == {"old": "10.00", "new": "12.50"}


def test_price_can_change_while_the_market_is_closed(admin_api, company):
    assert patch_price(admin_api, company, "9.99").json()["price"] == "9.99"
    assert PricePoint.objects.filter(company=company, price=Decimal("9.99"), day=None).exists()


def test_the_history_is_in_the_company_detail(team_api, admin_api, company, open_market):
    patch_price(admin_api, company, "11.00")
    patch_price(admin_api, company, "10.50")
    history = team_api.get("/api/companies/ACME").json()["history"]
    assert [point["price"] for point in history] == ["10.00", "11.00", "10.50"]
    assert set(history[0]) == {"price", "at", "day"}


@pytest.mark.parametrize("price", ["0", "-1", "0.001", "abc", None, "1e20", 10**15])
def test_bad_prices_are_refused(admin_api, company, price):
    assert_problem(patch_price(admin_api, company, price), 400, "validation_error")
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")
    assert PricePoint.objects.filter(company=company).count() == 1


def test_teams_cannot_change_prices(team_api, company):
    assert_problem(patch_price(team_api, company, "99.00"), 403, "permission_denied")
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")


def test_the_same_price_again_records_nothing(admin_api, company):
    patch_price(admin_api, company, "10.00")
    assert PricePoint.objects.filter(company=company).count() == 1
    assert not AuditEntry.objects.filter(action="price_set").exists()


@pytest.mark.postgres  # SQLite does not enforce NUMERIC precision
def test_a_price_too_large_for_the_holders_values_is_refused(admin_api, make_team, company, open_market):
    from market.services import trade_execute

    rich = make_team("Rich", starting_cash=Decimal("200000.00"))
    trade_execute(participant=rich, company=company, side="buy", quantity=15_000)
    assert_problem(patch_price(admin_api, company, "999999999999.99"), 400, "validation_error")
    company.refresh_from_db()
    assert company.current_price == Decimal("10.00")
