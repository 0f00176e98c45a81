from decimal import Decimal

import pytest

from accounts.models import User
from market import services
from market.models import AuditEntry, CashAdjustment, Company, Participant
from market.tests.helpers import assert_problem, buy

pytestmark = pytest.mark.django_db

NEW_COMPANY = {"ticker": "NEWCO", "name": "New Co", "current_price": "25.50", "financials": {"2025": {"revenue": 9}}}


def test_admin_creates_a_company_with_its_first_price(admin_api):
    response = admin_api.post("/api/admin/companies", NEW_COMPANY, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["price"] == body["previous_price"] == "25.50"
    assert body["history"][0]["price"] == "25.50"
    assert AuditEntry.objects.filter(action="company_create", target="company:NEWCO").exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ticker": "bad ticker"}, "ticker"),
        ({"ticker": "ACME"}, "ticker"),
        ({"current_price": "0"}, "current_price"),
        ({"financials": [1, 2]}, "financials"),
        ({"price": "3.00"}, "price"),
    ],
)
def test_company_input_is_validated(admin_api, company, change, field):
    body = assert_problem(
        admin_api.post("/api/admin/companies", {**NEW_COMPANY, **change}, format="json"), 400, "validation_error"
    )
    assert field in body["errors"]
    assert Company.objects.count() == 1


def test_admin_renames_and_deactivates_a_company_without_touching_the_price(admin_api, company):
    response = admin_api.patch(
        f"/api/admin/companies/{company.pk}", {"name": "Acme Corp", "is_active": False}, format="json"
    )
    assert response.status_code == 200
    company.refresh_from_db()
    assert (company.name, company.is_active, company.current_price) == ("Acme Corp", False, Decimal("10.00"))


def test_a_traded_company_cannot_be_deleted(admin_api, team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    assert_problem(admin_api.delete(f"/api/admin/companies/{company.pk}"), 409, "company_has_trades")
    assert Company.objects.filter(pk=company.pk).exists()


def test_an_untraded_company_can_be_deleted(admin_api, company):
    assert admin_api.delete(f"/api/admin/companies/{company.pk}").status_code == 204
    assert not Company.objects.exists()


def test_admin_creates_a_team(admin_api):
    response = admin_api.post(
        "/api/admin/participants",
        {
            "email": "lab@sma3.sch.id",
            "password": "a-good-long-password",
            "display_name": "Lab Rats",
            "starting_cash": "5000",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["cash"] == "5000.00"
    assert response.json()["email"] == "lab@sma3.sch.id"
    assert User.objects.get(email="lab@sma3.sch.id").check_password("a-good-long-password")


def test_admin_freezes_a_team_with_patch(admin_api, team, company, open_market, team_api):
    response = admin_api.patch(f"/api/admin/participants/{team.pk}", {"is_frozen": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_frozen"] is True
    assert AuditEntry.objects.filter(action="participant_freeze").count() == 1
    assert_problem(buy(team_api), 409, "participant_frozen")


def test_admin_cannot_set_cash_by_patch(admin_api, team):
    body = assert_problem(
        admin_api.patch(f"/api/admin/participants/{team.pk}", {"cash": "1e9"}, format="json"), 400, "validation_error"
    )
    assert "cash" in body["errors"]
    team.refresh_from_db()
    assert team.cash == Decimal("100000.00")


def test_cash_adjustments_are_logged_and_revalue_the_team(admin_api, admin_user, team):
    response = admin_api.post(
        f"/api/admin/participants/{team.pk}/adjust-cash", {"amount": "-250.50", "reason": "Late penalty"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["cash"] == "99749.50"
    assert response.json()["portfolio_value"] == "99749.50"
    adjustment = CashAdjustment.objects.get()
    assert (adjustment.amount, adjustment.reason, adjustment.by) == (Decimal("-250.50"), "Late penalty", admin_user)
    assert AuditEntry.objects.filter(action="cash_adjust", actor=admin_user).exists()


def test_cash_adjustment_cannot_make_cash_negative(admin_api, team):
    response = admin_api.post(
        f"/api/admin/participants/{team.pk}/adjust-cash", {"amount": "-100000.01", "reason": "oops"}, format="json"
    )
    assert_problem(response, 409, "insufficient_funds")
    team.refresh_from_db()
    assert team.cash == Decimal("100000.00")


def test_deleting_a_team_deletes_its_account(admin_api, team):
    assert admin_api.delete(f"/api/admin/participants/{team.pk}").status_code == 204
    assert not Participant.objects.exists()
    assert not User.objects.filter(email=team.user.email).exists()


def test_transactions_are_read_only_for_admins(admin_api, team, other_team, company, open_market):
    trade = services.trade_execute(participant=team, company=company, side="buy", quantity=2).transaction
    services.trade_execute(participant=other_team, company=company, side="buy", quantity=1)

    listing = admin_api.get("/api/admin/transactions", {"participant": str(team.pk)}).json()
    assert [row["id"] for row in listing["results"]] == [str(trade.pk)]
    assert listing["results"][0]["team"] == "Bull Riders"
    assert admin_api.get(f"/api/admin/transactions/{trade.pk}").json()["total"] == "20.00"
    assert admin_api.delete(f"/api/admin/transactions/{trade.pk}").status_code == 405
    assert admin_api.post("/api/admin/transactions", {}, format="json").status_code == 405


def test_transaction_filters_are_validated(admin_api):
    assert_problem(admin_api.get("/api/admin/transactions", {"participant": "not-a-uuid"}), 400, "validation_error")
    assert_problem(admin_api.get("/api/admin/transactions", {"day": "-3"}), 400, "validation_error")


def test_admin_endpoints_refuse_teams(team_api, team, company):
    for path in ["/api/admin/companies", "/api/admin/participants", "/api/admin/transactions", "/api/admin/news"]:
        assert_problem(team_api.get(path), 403, "permission_denied")
    assert_problem(
        team_api.post(
            f"/api/admin/participants/{team.pk}/adjust-cash", {"amount": "1e6", "reason": "me"}, format="json"
        ),
        403,
        "permission_denied",
    )


def test_admin_created_teams_need_a_strong_password_too(admin_api):
    response = admin_api.post(
        "/api/admin/participants",
        {"email": "lab@sma3.sch.id", "password": "short", "display_name": "Lab Rats"},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert "password" in body["errors"]
    assert not User.objects.filter(email="lab@sma3.sch.id").exists()
