"""Account changes made in the admin are in the audit log (who, what it was, what it became), and an
account that loses its access is signed out everywhere."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from conftest import TEAM_PASSWORD
from market.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def change_form(user: User, **changes) -> dict:
    data = {"email": user.email, "role": user.role, "is_active": "on" if user.is_active else ""}
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_creating_an_account_is_audited(organiser, admin_user):
    response = organiser.post(
        "/admin/accounts/user/add/",
        {"email": "helper@event.test", "role": "admin", "password1": "a-long-secret-9", "password2": "a-long-secret-9"},
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user_create")
    created = User.objects.get(email="helper@event.test")
    assert (entry.actor, entry.target) == (admin_user, f"user:{created.pk}")
    assert entry.data["new"] == {"email": "helper@event.test", "role": "admin", "is_active": True}


def test_deactivating_a_team_account_is_audited_and_signs_it_out_everywhere(organiser, team, other_team):
    Token.objects.create(user=team.user)
    Token.objects.create(user=other_team.user)
    team_browser = Client()
    team_browser.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})
    assert team_browser.get("/market/").status_code == 200

    response = organiser.post(f"/admin/accounts/user/{team.user.pk}/change/", change_form(team.user, is_active=""))

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user_update")
    assert entry.data == {"old": {"is_active": True}, "new": {"is_active": False}}
    assert not Token.objects.filter(user=team.user).exists()
    assert Token.objects.filter(user=other_team.user).exists()  # the outsider keeps its token
    assert team_browser.get("/market/").status_code == 302  # sent to sign in


def test_a_change_that_changes_nothing_writes_no_entry(organiser, team):
    organiser.post(f"/admin/accounts/user/{team.user.pk}/change/", change_form(team.user))

    assert not AuditEntry.objects.filter(action="user_update").exists()


def test_a_role_change_shows_before_and_after(organiser):
    helper = User.objects.create_user(email="helper@event.test", password="x-long-secret-1", role=Role.ADMIN)

    organiser.post(f"/admin/accounts/user/{helper.pk}/change/", change_form(helper, role=Role.PARTICIPANT))

    entry = AuditEntry.objects.get(action="user_update")
    assert entry.data == {"old": {"role": "admin"}, "new": {"role": "participant"}}


def test_a_team_account_cannot_become_an_organiser(organiser, team):
    response = organiser.post(f"/admin/accounts/user/{team.user.pk}/change/", change_form(team.user, role=Role.ADMIN))

    assert response.status_code == 200  # the form again, with the reason beside the role
    assert "This account has a team (Bull Riders)" in response.content.decode()
    team.user.refresh_from_db()
    assert team.user.role == Role.PARTICIPANT
    assert not AuditEntry.objects.filter(action="user_update").exists()


def test_setting_a_password_in_the_admin_is_audited_and_ends_the_old_tokens(organiser, team):
    Token.objects.create(user=team.user)

    response = organiser.post(
        f"/admin/accounts/user/{team.user.pk}/password/",
        {"password1": "fresh-secret-771", "password2": "fresh-secret-771"},
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user_password_set")
    assert entry.target == f"user:{team.user.pk}"
    assert "fresh-secret-771" not in str(entry.data)
    assert not Token.objects.filter(user=team.user).exists()


def test_deleting_an_account_is_audited(organiser, team):
    email = team.user.email

    response = organiser.post(f"/admin/accounts/user/{team.user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user_delete")
    assert entry.data["old"]["email"] == email
    assert not User.objects.filter(email=email).exists()


def test_an_account_made_in_the_admin_follows_the_password_rules(organiser):
    response = organiser.post(
        "/admin/accounts/user/add/", {"email": "weak@event.test", "role": "admin", "password1": "a", "password2": "a"}
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="weak@event.test").exists()
