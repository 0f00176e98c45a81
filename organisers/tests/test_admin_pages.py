"""Every model has a working Django admin page an organiser can search and filter."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

EMPTY_IN_DEMO = {
    "holding",
    "transaction",
    "dailyvalue",
    "auditentry",
    "tokenproxy",
    "cashadjustment",
    "idempotencyrecord",
    "order",  # orders that wait: the demo places none
    "accessattempt",  # django-axes: sign-in lock-outs
    "accessfailurelog",
    "broadcast",  # the stream shows the market until the director takes a scene
    "job",  # background jobs: the demo starts none
    "dbtaskresult",  # django-tasks' own record of them
}


@pytest.fixture
def organiser_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def demo():
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())


def admin_urls(kind: str):
    for model, model_admin in admin.site._registry.items():
        yield pytest.param(model, model_admin, id=f"{model._meta.label}-{kind}")


@pytest.mark.parametrize("model, model_admin", list(admin_urls("changelist")))
def test_changelist_opens_with_search(organiser_client, demo, model, model_admin):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = organiser_client.get(url, {"q": "a"} if model_admin.search_fields else {}, follow=True)
    assert response.status_code == 200


@pytest.mark.parametrize("model, model_admin", list(admin_urls("change")))
def test_change_page_opens(organiser_client, demo, model, model_admin):
    obj = model.objects.first()
    if obj is None:
        # The demo has no trades yet, so nothing derived from them either.
        assert model._meta.model_name in EMPTY_IN_DEMO, f"the demo has no {model._meta.verbose_name}"
        return
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    assert organiser_client.get(url).status_code == 200


def test_participant_cannot_open_the_admin(client, team):
    client.force_login(team.user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_adds_a_team_with_the_event_starting_cash(organiser_client, admin_user):
    from accounts.models import User
    from market.models import Participant

    user = User.objects.create_user(email="new@school.test", password="whatever-pass-1")
    response = organiser_client.post(
        reverse("admin:market_participant_add"),
        {"user": str(user.pk), "display_name": "Late Joiners", "school": "SMA 9", "starting_cash": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    team = Participant.objects.get(display_name="Late Joiners")
    assert team.cash == team.starting_cash == team.portfolio_value
    assert str(team.cash) == "100000.00"


def test_filters_find_frozen_teams(organiser_client, team, other_team):
    type(team).objects.filter(pk=team.pk).update(is_frozen=True)
    response = organiser_client.get(reverse("admin:market_participant_changelist"), {"is_frozen__exact": "1"})
    page = response.content.decode()
    assert team.display_name in page
    assert other_team.display_name not in page


def test_admin_price_change_goes_through_the_price_service(organiser_client, admin_user, company):
    from market.models import AuditEntry, PricePoint

    url = reverse("admin:market_company_change", args=[company.pk])
    form = {
        "ticker": "ACME",
        "name": "Acme",
        "description": "",
        "financials": "{}",
        "current_price": "12.00",
        "is_active": "on",
    }
    response = organiser_client.post(url, form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    company.refresh_from_db()
    assert company.current_price == Decimal("12.00")
    assert company.previous_price == Decimal("10.00")
    assert PricePoint.objects.filter(company=company).count() == 2
    assert AuditEntry.objects.get(action="price_set").actor == admin_user


def test_admin_adds_a_company_with_its_first_price_point(organiser_client):
    from market.models import Company, PricePoint

    form = {
        "ticker": "NEW",
        "name": "New",
        "description": "",
        "financials": "{}",
        "current_price": "5.00",
        "is_active": "on",
    }
    response = organiser_client.post(reverse("admin:market_company_add"), form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    company = Company.objects.get(ticker="NEW")
    assert company.previous_price == Decimal("5.00")
    assert PricePoint.objects.filter(company=company).count() == 1


def test_freezing_a_team_in_the_admin_is_audited_and_leaves_its_cash(organiser_client, team):
    from market.models import AuditEntry
    from market.services import cash_adjust

    cash_adjust(participant=team, amount=Decimal("-30.00"), reason="penalty", by=None)
    url = reverse("admin:market_participant_change", args=[team.pk])
    form = {"display_name": team.display_name, "school": "SMA 1", "is_frozen": "on"}
    form.update({"holdings-TOTAL_FORMS": "0", "holdings-INITIAL_FORMS": "0", "holdings-MAX_NUM_FORMS": "1000"})
    response = organiser_client.post(url, form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    team.refresh_from_db()
    assert team.is_frozen
    assert team.cash == Decimal("99970.00")
    assert AuditEntry.objects.filter(action="participant_freeze").exists()


def test_the_company_list_shows_the_change_since_the_close(organiser_client, company):
    from market.services import price_set

    price_set(company=company, price=Decimal("12.50"), by=None)
    page = organiser_client.get(reverse("admin:market_company_changelist")).content.decode()
    assert "+25.00%" in page
