"""Error pages: the site's own look on the pages, problem details under /api/."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from common.views import forbidden, permission_denied, server_error

STYLESHEET = 'href="/static/app/app.css"'


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def boom(*args, **kwargs):
    raise RuntimeError("the portfolio broke")


@pytest.fixture
def quiet_client(client):
    """A client that gets the 500 page instead of the exception."""
    client.raise_request_exception = False
    return client


@pytest.fixture
def anonymous_request(rf):
    request = rf.get("/market/")
    request.user = AnonymousUser()
    return request


# Not found


@pytest.mark.django_db
def test_an_unknown_page_is_the_sites_not_found_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in main(response)
    assert STYLESHEET in response.content.decode()


@pytest.mark.django_db
def test_the_not_found_page_keeps_the_teams_header(client, team):
    client.force_login(team.user)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert 'data-role="team-name">Bull Riders</dd>' in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_api_address_stays_a_problem(client):
    response = client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert b"Page not found" not in response.content


# Server error


@pytest.mark.django_db
def test_a_crash_on_a_page_shows_the_sites_error_page(quiet_client, team, monkeypatch):
    monkeypatch.setattr("market.selectors.portfolio", boom)
    quiet_client.force_login(team.user)

    response = quiet_client.get("/portfolio/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong on our side" in main(response)
    assert STYLESHEET in response.content.decode()
    assert "the portfolio broke" not in response.content.decode()


@pytest.mark.django_db
def test_a_crash_under_the_api_stays_a_problem(quiet_client, team, monkeypatch):
    monkeypatch.setattr("market.selectors.portfolio", boom)
    quiet_client.force_login(team.user)

    response = quiet_client.get("/api/portfolio")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server_error"
    assert "the portfolio broke" not in response.content.decode()


def test_the_error_page_draws_without_the_database(rf):
    # No django_db mark: any query here fails the test. The 500 page must show when the
    # database is what broke.
    response = server_error(rf.get("/portfolio/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in main(response)
    assert STYLESHEET in response.content.decode()


# Forbidden


@pytest.mark.django_db
def test_a_blocked_network_gets_its_own_words(anonymous_request):
    response = forbidden(anonymous_request, reason="network")

    assert response.status_code == 403
    assert "Access restricted from your network" in main(response)
    assert "This page is for teams" not in main(response)
    assert STYLESHEET in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_reason_gets_the_plain_forbidden_page(anonymous_request):
    response = forbidden(anonymous_request, reason="<b>made up</b>")

    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in main(response)
    assert "made up" not in response.content.decode()


@pytest.mark.django_db
def test_permission_denied_on_a_page_is_the_forbidden_page(anonymous_request):
    response = permission_denied(anonymous_request, PermissionDenied("network"))

    assert response.status_code == 403
    assert "Access restricted from your network" in main(response)


@pytest.mark.django_db
def test_permission_denied_under_the_api_is_a_problem(rf):
    request = rf.get("/api/market")
    request.user = AnonymousUser()

    response = permission_denied(request, PermissionDenied())

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_malformed_page_address_gets_the_bad_request_page_in_the_site_look(client, db):
    response = client.get("/market/", {"q": "a\x00b"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "That address could not be understood" in page
    assert "app/app.css" in page
