from decimal import Decimal

import pytest
from django.utils import timezone

from market import services
from market.models import AuditEntry, Company, DailyValue, TradingDay
from market.tests.helpers import assert_problem, buy

pytestmark = pytest.mark.django_db


def test_market_is_closed_before_the_first_bell(api):
    assert api.get("/api/market").json() == {"status": "closed", "day": 0, "opened_at": None, "closes_at": None}


def test_start_bell_opens_day_one(admin_api, api):
    response = admin_api.post("/api/admin/market/open")

    assert response.status_code == 200
    market = response.json()
    assert market["status"] == "open"
    assert market["day"] == 1
    assert market["opened_at"] is not None
    assert api.get("/api/market").json() == market
    assert AuditEntry.objects.filter(action="market_open", target="day:1").exists()


def test_the_day_shows_the_close_of_its_run_sheet(admin_api, api):
    closes = (timezone.now() + timezone.timedelta(hours=2)).replace(microsecond=0)
    cue = {"day": 1, "at": timezone.localtime(closes).strftime("%Y-%m-%d %H:%M:%S"), "action": "close"}
    assert admin_api.post("/api/admin/cues", cue, format="json").status_code == 201
    admin_api.post("/api/admin/market/open")
    assert api.get("/api/market").json()["closes_at"] == timezone.localtime(closes).isoformat()


def test_end_bell_closes_the_day_and_keeps_closing_prices_and_values(admin_api, team, team_api, company):
    admin_api.post("/api/admin/market/open")
    buy(team_api, quantity=10)
    services.price_set(company=company, price=Decimal("15.00"), by=None)

    response = admin_api.post("/api/admin/market/close")

    assert response.json()["status"] == "closed"
    assert response.json()["day"] == 1
    company.refresh_from_db()
    assert company.previous_price == Decimal("15.00")
    assert company.current_price == Decimal("15.00")
    day_value = DailyValue.objects.get(participant=team, day=1)
    assert day_value.value == Decimal("100050.00")
    assert day_value.cash == Decimal("99900.00")
    assert team_api.get("/api/companies/ACME").json()["change"] == "0.00"


def test_days_count_up(admin_api):
    for expected in (1, 2, 3):
        assert admin_api.post("/api/admin/market/open").json()["day"] == expected
        admin_api.post("/api/admin/market/close")


def test_opening_an_open_market_is_refused(admin_api):
    admin_api.post("/api/admin/market/open")
    assert_problem(admin_api.post("/api/admin/market/open"), 409, "market_already_open")
    assert TradingDay.objects.count() == 1


def test_closing_a_closed_market_is_refused(admin_api):
    assert_problem(admin_api.post("/api/admin/market/close"), 409, "market_already_closed")


def test_teams_cannot_ring_the_bell(team_api):
    assert_problem(team_api.post("/api/admin/market/open"), 403, "permission_denied")
    assert not TradingDay.objects.exists()


def test_a_prepared_day_is_used_when_it_opens(admin_api):
    TradingDay.objects.create(number=1, opened_at=timezone.now(), closed_at=timezone.now())
    TradingDay.objects.create(number=2)
    assert admin_api.post("/api/admin/market/open").json()["day"] == 2
    assert TradingDay.objects.count() == 2


def test_close_keeps_previous_prices_for_every_company(admin_api, make_company):
    make_company("AAA", "1.00")
    make_company("BBB", "2.00")
    admin_api.post("/api/admin/market/open")
    for company in Company.objects.all():
        services.price_set(company=company, price=company.current_price * 3, by=None)
    admin_api.post("/api/admin/market/close")
    assert dict(Company.objects.values_list("ticker", "previous_price")) == {
        "AAA": Decimal("3.00"),
        "BBB": Decimal("6.00"),
    }
