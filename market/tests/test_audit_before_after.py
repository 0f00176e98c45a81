"""Every organiser action that changes money, prices, the market or accounts is audited: who, when,
what, and the values before and after."""

from decimal import Decimal

import pytest
from django.test import Client

from market.models import AuditEntry, EventSettings, TradingDay
from newsroom.services import news_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def only(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_an_event_settings_edit_in_the_admin_shows_before_and_after(organiser, admin_user, event_settings):
    form = {
        "name": event_settings.name,
        "starting_cash": "100000.00",
        "lot_size": "10",
        "buy_fee_rate": "0.001",
        "sell_fee_rate": "0",
        "max_open_orders": "20",
        "leaderboard_visible": "on",
        "signup_open": "on",
    }

    response = organiser.post(f"/admin/market/eventsettings/{event_settings.pk}/change/", form)

    assert response.status_code == 302
    entry = only("eventsettings_update")
    assert entry.actor == admin_user
    assert entry.data["old"] == {"buy_fee_rate": "0.000000", "lot_size": 1}
    assert entry.data["new"] == {"buy_fee_rate": "0.001", "lot_size": 10}
    assert EventSettings.load().lot_size == 10


def test_a_trading_day_added_in_the_admin_is_audited_and_so_is_its_deletion(organiser):
    # Its times are its run-sheet cues': a time posted here is ignored.
    form = {"number": "1", "scheduled_open_at_0": "2099-01-01", "scheduled_open_at_1": "09:00:00"}
    assert organiser.post("/admin/market/tradingday/add/", form).status_code == 302
    day = TradingDay.objects.get()
    assert day.scheduled_open_at is None

    assert only("tradingday_create").data["new"]["number"] == 1
    assert organiser.post(f"/admin/market/tradingday/{day.pk}/delete/", {"post": "yes"}).status_code == 302
    assert only("tradingday_delete").target == f"tradingday:{day.pk}"


def test_a_company_edit_shows_before_and_after(admin_api, company):
    response = admin_api.patch(f"/api/admin/companies/{company.pk}", {"name": "Acme Anvils"}, format="json")

    assert response.status_code == 200
    assert only("company_update").data == {"old": {"name": "Acme"}, "new": {"name": "Acme Anvils"}}


def test_a_news_edit_shows_before_and_after(admin_api):
    item = news_create(by=None, title="Draft", content="x")

    admin_api.patch(f"/api/admin/news/{item.pk}", {"title": "Rates cut"}, format="json")

    entry = only("news_update")
    assert (entry.data["old"], entry.data["new"]) == ({"title": "Draft"}, {"title": "Rates cut"})


def test_a_cash_adjustment_shows_the_cash_before_and_after(admin_api, team):
    admin_api.post(
        f"/api/admin/participants/{team.pk}/adjust-cash", {"amount": "-250.50", "reason": "Late fee"}, format="json"
    )

    entry = only("cash_adjust")
    assert (entry.data["old"], entry.data["new"]) == ({"cash": "100000.00"}, {"cash": "99749.50"})
    assert entry.data["reason"] == "Late fee"


def test_a_team_renamed_by_an_organiser_shows_the_old_and_new_name(admin_api, team, other_team):
    admin_api.patch(f"/api/admin/participants/{team.pk}", {"display_name": "Golden Bulls"}, format="json")

    entry = only("participant_rename")
    assert entry.data["old"] == {"display_name": "Bull Riders", "school": "SMA 1"}
    assert entry.data["new"] == {"display_name": "Golden Bulls", "school": "SMA 1"}
    other_team.refresh_from_db()
    assert other_team.display_name == "Bear Necessities"


def test_a_team_renamed_in_the_admin_form_is_audited(organiser, team):
    form = {"display_name": "Renamed Bulls", "school": "SMA 1", "is_frozen": ""}
    form = {key: value for key, value in form.items() if value != ""}
    form.update({"holdings-TOTAL_FORMS": "0", "holdings-INITIAL_FORMS": "0"})

    response = organiser.post(f"/admin/market/participant/{team.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only("participant_rename")
    assert entry.data["new"]["display_name"] == "Renamed Bulls"
    assert entry.data["old"]["display_name"] == "Bull Riders"


def test_the_audit_log_is_read_only_in_the_admin(organiser, company):
    from market.services import price_set

    price_set(company=company, price=Decimal("11.00"), by=None)
    entry = only("price_set")

    assert organiser.get("/admin/market/auditentry/").status_code == 200
    assert organiser.get(f"/admin/market/auditentry/{entry.pk}/change/").status_code == 200
    assert organiser.post(f"/admin/market/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert organiser.get("/admin/market/auditentry/add/").status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_an_organisers_account_cannot_be_made_a_team_in_the_admin(organiser, admin_user):
    response = organiser.post(
        "/admin/market/participant/add/",
        {"user": str(admin_user.pk), "display_name": "Sneaky", "school": "", "starting_cash": ""},
    )

    assert response.status_code == 200  # refused on the form
    assert "Select a valid choice" in response.content.decode()
    from market.models import Participant

    assert not Participant.objects.exists()


def test_deleting_a_team_or_news_in_the_admin_is_audited(organiser, make_team):
    quitter = make_team("Quitters")
    item = news_create(by=None, title="Old news", content="x")

    organiser.post(f"/admin/market/participant/{quitter.pk}/delete/", {"post": "yes"})
    organiser.post(
        "/admin/newsroom/news/", {"action": "delete_selected", "_selected_action": [str(item.pk)], "post": "yes"}
    )

    assert only("participant_delete").target == f"participant:{quitter.pk}"
    assert only("news_delete").data["title"] == "Old news"
