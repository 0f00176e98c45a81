"""The settings page: a team renames itself and changes its password."""

import html
import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from conftest import TEAM_PASSWORD
from market.models import AuditEntry, Participant

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase"


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def field_errors(response, field: str) -> str:
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def input_value(response, name: str) -> str | None:
    found = re.search(rf'<input [^>]*name="{name}"[^>]*>', main(response))
    value = found and re.search(r'value="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else None


@pytest.fixture
def team_client(client, team):
    client.force_login(team.user)
    return client


def test_settings_page_shows_the_teams_name_school_and_email(team_client, team, other_team):
    response = team_client.get("/settings/")

    assert response.status_code == 200
    assert input_value(response, "display_name") == "Bull Riders"
    assert input_value(response, "school") == "SMA 1"
    assert team.user.email in main(response)
    assert other_team.display_name not in response.content.decode()


def test_a_team_renames_itself_and_the_change_is_audited(team_client, team, other_team):
    response = team_client.post("/settings/", {"display_name": "Bulls Reloaded", "school": "SMA 1 Jakarta"})

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    team.refresh_from_db()
    assert (team.display_name, team.school) == ("Bulls Reloaded", "SMA 1 Jakarta")
    other_team.refresh_from_db()
    assert other_team.display_name == "Bear Necessities"
    entry = AuditEntry.objects.get(action="participant_rename")
    assert entry.actor == team.user
    assert entry.target == f"participant:{team.pk}"
    assert entry.data["old"] == {"display_name": "Bull Riders", "school": "SMA 1"}
    assert entry.data["new"] == {"display_name": "Bulls Reloaded", "school": "SMA 1 Jakarta"}

    page = team_client.get("/settings/").content.decode()
    assert "Team details saved." in page
    assert 'data-role="team-name">Bulls Reloaded</dd>' in page


def test_a_name_another_team_has_is_refused_in_any_case(team_client, team, other_team):
    response = team_client.post("/settings/", {"display_name": "bear NECESSITIES", "school": "Elsewhere"})

    assert response.status_code == 400
    assert field_errors(response, "display_name") == "This team name is taken."
    assert 'data-role="team-name">Bull Riders</dd>' in response.content.decode()
    team.refresh_from_db()
    assert (team.display_name, team.school) == ("Bull Riders", "SMA 1")
    assert not AuditEntry.objects.filter(action="participant_rename").exists()


def test_a_team_may_change_only_the_case_of_its_own_name(team_client, team):
    response = team_client.post("/settings/", {"display_name": "BULL RIDERS", "school": "SMA 1"})

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.display_name == "BULL RIDERS"


def test_a_blank_name_is_refused(team_client, team):
    response = team_client.post("/settings/", {"display_name": "   ", "school": ""})

    assert response.status_code == 400
    assert field_errors(response, "display_name")
    team.refresh_from_db()
    assert team.display_name == "Bull Riders"


def test_a_password_change_with_the_wrong_old_password_is_refused(team_client, team):
    body = {"old_password": "not-my-password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = team_client.post("/settings/password/", body)

    assert response.status_code == 400
    assert "old password was entered incorrectly" in field_errors(response, "old_password")
    team.user.refresh_from_db()
    assert team.user.check_password(TEAM_PASSWORD)


def test_a_password_change_needs_a_post(team_client, team):
    assert team_client.get("/settings/password/").status_code == 405


def test_a_password_change_keeps_this_browser_and_signs_out_the_others(team_client, team, other_team):
    other_browser = Client()
    other_browser.force_login(team.user)
    outsider_browser = Client()
    outsider_browser.force_login(other_team.user)
    Token.objects.create(user=team.user)
    outsider_token = Token.objects.create(user=other_team.user)
    assert other_browser.get("/portfolio/").status_code == 200
    body = {"old_password": TEAM_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = team_client.post("/settings/password/", body)

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    here = team_client.get("/settings/")
    assert here.status_code == 200
    assert "Password changed." in here.content.decode()
    elsewhere = other_browser.get("/portfolio/")
    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == "/signin/?next=/portfolio/"
    assert not Token.objects.filter(user=team.user).exists()
    assert Token.objects.filter(pk=outsider_token.pk).exists()
    assert outsider_browser.get("/portfolio/").status_code == 200


def test_the_new_password_works_at_sign_in_and_the_old_one_does_not(team_client, team):
    body = {"old_password": TEAM_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert team_client.post("/settings/password/", body).status_code == 302

    old = Client().post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})
    new = Client().post("/signin/", {"username": team.user.email, "password": NEW_PASSWORD})

    assert old.status_code == 200
    assert "The e-mail or password is wrong." in main(old)
    assert new.status_code == 302
    assert new["Location"] == "/market/"


def test_a_weak_new_password_is_refused(team_client, team):
    body = {"old_password": TEAM_PASSWORD, "new_password1": "qwertyuiop", "new_password2": "qwertyuiop"}

    response = team_client.post("/settings/password/", body)

    assert response.status_code == 400
    assert "This password is too common." in field_errors(response, "new_password2")
    team.user.refresh_from_db()
    assert team.user.check_password(TEAM_PASSWORD)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_organiser_gets_the_page_for_teams(client, admin_user, team, method):
    client.force_login(admin_user)

    response = getattr(client, method)("/settings/", {"display_name": "Hijacked", "school": ""})

    assert response.status_code == 403
    assert "This page is for teams" in main(response)
    assert not Participant.objects.filter(display_name="Hijacked").exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, team):
    response = client.get("/settings/")

    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/settings/"


def test_an_anonymous_password_change_is_sent_to_sign_in(client, team):
    body = {"old_password": TEAM_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = client.post("/settings/password/", body)

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")
    team.user.refresh_from_db()
    assert team.user.check_password(TEAM_PASSWORD)
