from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import User
from market.models import Company, Participant, PricePoint, TradingDay
from newsroom.models import News
from organisers.models import Cue

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count() for model in (User, Participant, Company, PricePoint, TradingDay, News)
    }


@override_settings(DEBUG=True)
def test_seed_demo_fills_an_empty_event():
    seed()

    assert Company.objects.count() >= 8
    assert Participant.objects.count() == 20
    assert User.objects.filter(role="admin").count() == 1
    assert News.objects.count() >= 12
    scheduled = Cue.objects.filter(action="news", status="planned", news__published_at__isnull=True)
    assert scheduled.count() == 3, "some news is scheduled for later, as run-sheet cues"
    assert Cue.objects.filter(action="price", data__ticker="GRID", status="planned").exists()
    assert News.objects.filter(published_at__isnull=True).exists(), "a draft"
    for company in Company.objects.all():
        assert company.financials, company.ticker
        days = set(PricePoint.objects.filter(company=company).values_list("day", flat=True))
        assert len(days) >= 3, company.ticker
        last = PricePoint.objects.filter(company=company).order_by("at").last()
        assert company.current_price == last.price


@override_settings(DEBUG=True)
def test_seed_demo_twice_duplicates_nothing():
    seed()
    first = counts()
    seed()
    assert counts() == first


@override_settings(DEBUG=True)
def test_the_printed_logins_work(api):
    printed = seed()
    lines = [line.split() for line in printed.splitlines() if "@demo.brainstorm" in line]
    admin_line = next(line for line in lines if line[0] == "organiser")
    email, password = admin_line[1], admin_line[3]

    response = api.post("/api/auth/signin", {"email": email, "password": password}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["role"] == "admin"

    team_line = next(line for line in lines if line[0] == "teams")
    password = team_line[team_line.index("/") + 1]
    response = api.post("/api/auth/signin", {"email": team_line[1], "password": password}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["participant"]["cash"] == "100000.00"


@override_settings(DEBUG=False)
def test_seed_demo_refuses_to_create_public_logins_in_production():
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not User.objects.exists()


@override_settings(DEBUG=True, OVERLAY_TOKEN="stream-token-123")
def test_the_overlay_address_is_printed(client):
    printed = seed()
    path = next(line.split()[0] for line in printed.splitlines() if line.strip().startswith("/overlay/"))
    assert path == "/overlay/?token=stream-token-123"
    assert client.get(path).status_code == 200
