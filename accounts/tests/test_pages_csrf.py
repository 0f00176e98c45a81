"""A form sent without its CSRF token is refused in the site's look, and nothing happens."""

import pytest
from django.test import Client

from market.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_browser(team) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.user)
    return client


def test_an_order_without_the_csrf_token_is_refused_and_trades_nothing(strict_browser, team, company, open_market):
    response = strict_browser.post("/trade/", {"ticker": "ACME", "type": "buy", "quantity": "1", "key": "k1"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "This form has expired" in page
    assert "app/app.css" in page  # the site's own look, not Django's bare page
    assert not Transaction.objects.filter(participant=team).exists()


def test_the_same_order_with_the_token_goes_through(strict_browser, team, company, open_market):
    form = strict_browser.get("/trade/")
    token = form.context["csrf_token"]

    response = strict_browser.post(
        "/trade/",
        {"ticker": "ACME", "type": "buy", "quantity": "1", "key": form.context["key"], "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
    assert Transaction.objects.filter(participant=team).count() == 1


def test_sign_out_without_the_token_keeps_the_session(strict_browser):
    response = strict_browser.post("/signout/")

    assert response.status_code == 403
    assert strict_browser.get("/market/").status_code == 200
