"""The welcome, sign-up, sign-in and sign-out pages, as a team or an organiser uses them."""

import html
import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from conftest import TEAM_PASSWORD
from market.models import Participant

pytestmark = pytest.mark.django_db

SIGNUP = {
    "display_name": "Golden Cross",
    "school": "SMAN 1 Bandung",
    "email": "captain@sman1.sch.id",
    "password": "a-strong-pass-phrase",
    "password2": "a-strong-pass-phrase",
}


def main(response) -> str:
    """The page's own content, without the header (which shows the signed-in team)."""
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def field_errors(response, field: str) -> str:
    """The error text shown beside a form field, or "" when it has none."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def accounts() -> tuple[int, int]:
    return User.objects.count(), Participant.objects.count()


@pytest.fixture
def close_signup_by_event_setting(event_settings):
    event_settings.signup_open = False
    event_settings.save()


@pytest.fixture
def close_signup_by_environment(settings):
    settings.SIGNUP_OPEN = False


CLOSED_WAYS = ["close_signup_by_event_setting", "close_signup_by_environment"]


# Welcome


def test_welcome_page_offers_sign_in_and_sign_up_while_sign_up_is_open(client):
    response = client.get("/")

    assert response.status_code == 200
    assert 'href="/signin/"' in main(response)
    assert 'href="/signup/"' in main(response)


@pytest.mark.parametrize("closed_by", CLOSED_WAYS)
def test_welcome_page_offers_only_sign_in_when_sign_up_is_closed(client, closed_by, request):
    request.getfixturevalue(closed_by)

    response = client.get("/")

    assert response.status_code == 200
    assert 'href="/signin/"' in main(response)
    assert 'href="/signup/"' not in main(response)
    assert "Sign-up is closed" in main(response)


def test_a_signed_in_team_is_sent_from_welcome_to_the_market(client, team):
    client.force_login(team.user)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/market/"


def test_a_signed_in_organiser_is_sent_from_welcome_to_the_admin(client, admin_user):
    client.force_login(admin_user)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


# Sign-up


def test_sign_up_creates_the_team_and_signs_it_in(client, other_team, event_settings):
    response = client.post("/signup/", SIGNUP)

    assert response.status_code == 302
    assert response["Location"] == "/market/"
    team = Participant.objects.get(user__email=SIGNUP["email"])
    assert team.display_name == "Golden Cross"
    assert team.school == "SMAN 1 Bandung"
    assert team.cash == event_settings.starting_cash
    assert signed_in_user_id(client) == str(team.user.pk)

    market = client.get("/market/")
    assert market.status_code == 200
    assert 'data-role="team-name">Golden Cross</dd>' in market.content.decode()
    assert other_team.display_name not in market.content.decode()
    assert "Welcome, Golden Cross!" in market.content.decode()


def test_sign_up_refuses_an_email_taken_in_another_case(client, team):
    before = accounts()

    response = client.post("/signup/", {**SIGNUP, "email": team.user.email.upper()})

    assert response.status_code == 400
    assert field_errors(response, "email") == "An account with this e-mail already exists."
    assert accounts() == before
    assert signed_in_user_id(client) is None


def test_sign_up_refuses_a_team_name_taken_in_another_case(client, team):
    before = accounts()

    response = client.post("/signup/", {**SIGNUP, "display_name": "BULL riders"})

    assert response.status_code == 400
    assert field_errors(response, "display_name") == "This team name is taken."
    assert field_errors(response, "email") == ""
    assert accounts() == before


@pytest.mark.parametrize(
    "password, message",
    [
        ("short-pw", "This password is too short. It must contain at least 10 characters."),
        ("qwertyuiop", "This password is too common."),
    ],
)
def test_sign_up_refuses_a_weak_password_in_plain_words(client, password, message):
    response = client.post("/signup/", {**SIGNUP, "password": password, "password2": password})

    assert response.status_code == 400
    assert message in field_errors(response, "password")
    assert accounts() == (0, 0)


def test_sign_up_names_every_problem_at_once(client, team):
    # A taken e-mail and a weak password: both shown after one submit, not one after the other.
    weak = "short-pw"
    response = client.post("/signup/", {**SIGNUP, "email": team.user.email, "password": weak, "password2": weak})

    assert response.status_code == 400
    assert field_errors(response, "email") == "An account with this e-mail already exists."
    assert "This password is too short." in field_errors(response, "password")
    assert accounts() == (1, 1)


def test_sign_up_refuses_passwords_that_differ(client):
    response = client.post("/signup/", {**SIGNUP, "password2": SIGNUP["password"] + "x"})

    assert response.status_code == 400
    assert field_errors(response, "password2") == "The two passwords are not the same."
    assert accounts() == (0, 0)


@pytest.mark.parametrize("closed_by", CLOSED_WAYS)
def test_closed_sign_up_shows_the_closed_page_and_creates_nothing(client, closed_by, request):
    request.getfixturevalue(closed_by)

    page = client.get("/signup/")
    posted = client.post("/signup/", SIGNUP)

    for response in (page, posted):
        assert response.status_code == 403
        assert "Sign-up is closed" in main(response)
        assert 'name="password"' not in main(response)
    assert accounts() == (0, 0)
    assert signed_in_user_id(client) is None


def test_sign_up_is_throttled_with_a_message(client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "signup": "2/min"})
    weak = {**SIGNUP, "password": "short", "password2": "short"}
    assert [client.post("/signup/", weak).status_code for _ in range(2)] == [400, 400]

    response = client.post("/signup/", SIGNUP)

    assert response.status_code == 429
    assert re.search(r"Too many sign-ups from this network\. Try again in \d+ seconds\.", main(response))
    assert accounts() == (0, 0)


# Sign-in


def test_a_team_signs_in_and_lands_on_the_market(client, team, other_team):
    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/market/"
    assert signed_in_user_id(client) == str(team.user.pk)
    market = client.get("/market/").content.decode()
    assert 'data-role="team-name">Bull Riders</dd>' in market


@pytest.mark.parametrize("next_url", ["", "/trade/"])
def test_an_organiser_signs_in_to_the_admin_even_when_next_is_a_team_page(client, admin_user, next_url):
    body = {"username": admin_user.email, "password": "organiser-password-1", "next": next_url}

    response = client.post("/signin/", body)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in_user_id(client) == str(admin_user.pk)


def test_a_team_is_sent_to_the_team_page_it_asked_for(client, team):
    body = {"username": team.user.email, "password": TEAM_PASSWORD, "next": "/trade/"}

    response = client.post("/signin/", body)

    assert response.status_code == 302
    assert response["Location"] == "/trade/"


@pytest.mark.parametrize("next_url", ["/admin/", "https://evil.example/steal", "//evil.example/"])
def test_a_team_is_not_sent_to_the_admin_or_another_site(client, team, next_url):
    body = {"username": team.user.email, "password": TEAM_PASSWORD, "next": next_url}

    response = client.post("/signin/", body)

    assert response.status_code == 302
    assert response["Location"] == "/market/"


def test_the_sign_in_page_sends_anonymous_visitors_back_where_they_were_going(client, team):
    redirected = client.get("/portfolio/")
    assert redirected.status_code == 302
    assert redirected["Location"] == "/signin/?next=/portfolio/"

    form = client.get(redirected["Location"])
    assert 'name="next" value="/portfolio/"' in main(form)
    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD, "next": "/portfolio/"})
    assert response["Location"] == "/portfolio/"


def test_a_wrong_password_is_refused_in_plain_words(client, team):
    response = client.post("/signin/", {"username": team.user.email, "password": "not-the-password"})

    assert response.status_code == 200
    assert "The e-mail or password is wrong." in main(response)
    assert signed_in_user_id(client) is None


def test_another_teams_password_does_not_open_this_team(client, team, make_team):
    outsider = make_team("Outsiders")
    outsider.user.set_password("outsider-own-password")
    outsider.user.save()

    response = client.post("/signin/", {"username": team.user.email, "password": "outsider-own-password"})

    assert "The e-mail or password is wrong." in main(response)
    assert signed_in_user_id(client) is None


def test_the_email_is_case_insensitive_at_sign_in(client, team):
    response = client.post("/signin/", {"username": "  " + team.user.email.upper(), "password": TEAM_PASSWORD})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(team.user.pk)


def test_sign_in_gives_the_browser_a_new_session_key(client, team):
    session = client.session
    session["seen_welcome"] = True
    session.save()
    before = session.session_key

    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})

    assert response.status_code == 302
    assert client.session.session_key != before
    assert signed_in_user_id(client) == str(team.user.pk)


def test_sign_in_is_locked_after_repeated_failures_even_for_the_right_password(client, team, settings):
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    # The third failure locks the pair (e-mail, address) out: it is answered with the lock-out.
    assert [client.post("/signin/", wrong).status_code for _ in range(3)] == [200, 200, 429]

    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})

    assert response.status_code == 429
    expected = r"Too many failed sign-ins for this account from this network\. Try again in \d+ seconds\."
    assert re.search(expected, main(response))
    assert signed_in_user_id(client) is None


def test_a_guesser_elsewhere_does_not_lock_the_team_out(client, team, settings):
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    for _ in range(5):
        client.post("/signin/", wrong, REMOTE_ADDR="203.0.113.9")

    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(team.user.pk)


def test_a_whole_venue_behind_one_address_signs_in(make_team, settings):
    # Only failures count: forty teams behind one school router, each typing its password right.
    from django.test import Client

    teams = [make_team() for _ in range(40)]
    statuses = [
        Client().post("/signin/", {"username": t.user.email, "password": TEAM_PASSWORD}).status_code for t in teams
    ]
    assert statuses == [302] * 40


def test_failures_on_made_up_emails_do_not_lock_the_venue_out(client, team):
    guesses = [{"username": f"nobody{n}@school.test", "password": "nope-nope-1"} for n in range(40)]
    assert {client.post("/signin/", guess).status_code for guess in guesses} == {200}

    # The real team behind the same router signs in.
    assert client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD}).status_code == 302


def test_a_try_during_a_lock_out_does_not_restart_it(client, team, settings):
    import datetime

    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    client.post("/signin/", wrong)
    client.post("/signin/", wrong)
    locked_at = datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME + datetime.timedelta(seconds=5)
    AccessAttempt.objects.update(attempt_time=locked_at)  # the lock-out ends in 5 seconds
    client.post("/signin/", wrong)  # a rival tries again meanwhile

    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_sign_in_attempts_on_the_api_count_against_the_page(client, api, team, settings):
    settings.AXES_FAILURE_LIMIT = 3
    wrong = {"email": team.user.email, "password": "guess-number-n"}
    assert [api.post("/api/auth/signin", wrong, format="json").status_code for _ in range(3)] == [400, 400, 429]

    response = client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD})

    assert response.status_code == 429
    assert signed_in_user_id(client) is None


# Sign-out


def test_sign_out_needs_a_post(client, team):
    client.force_login(team.user)

    response = client.get("/signout/")

    assert response.status_code == 405
    assert signed_in_user_id(client) == str(team.user.pk)


def test_sign_out_ends_the_session_and_deletes_only_this_teams_api_token(client, team, other_team):
    Token.objects.create(user=team.user)
    outsider_token = Token.objects.create(user=other_team.user)
    client.force_login(team.user)

    response = client.post("/signout/")

    assert response.status_code == 302
    assert response["Location"] == "/signin/"
    assert signed_in_user_id(client) is None
    assert not Token.objects.filter(user=team.user).exists()
    assert Token.objects.filter(pk=outsider_token.pk).exists()
    after = client.get("/market/")
    assert after.status_code == 302
    assert after["Location"] == "/signin/?next=/market/"


def test_a_lock_out_is_listed_in_the_admin_and_clearing_it_lets_the_team_in(client, team, admin_user, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    client.post("/signin/", wrong)
    client.post("/signin/", wrong)
    assert client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD}).status_code == 429

    organiser = type(client)()
    organiser.force_login(admin_user)
    listing = organiser.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and team.user.email in listing.content.decode()
    attempt = AccessAttempt.objects.get(username=team.user.email)
    organiser.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD}).status_code == 302


def test_the_lock_out_ends_after_the_cool_down(client, team, settings):
    import datetime

    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 2
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    client.post("/signin/", wrong)
    client.post("/signin/", wrong)
    assert client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD}).status_code == 429

    # The cool-down passes.
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME * 2)

    assert client.post("/signin/", {"username": team.user.email, "password": TEAM_PASSWORD}).status_code == 302


def test_repeated_failures_slow_the_pair_down_before_the_lock_out(client, team, monkeypatch):
    import accounts.throttles as throttles

    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(throttles.time, "time", lambda: clock["now"])
    wrong = {"username": team.user.email, "password": "guess-number-n"}
    right = {"username": team.user.email, "password": TEAM_PASSWORD}
    assert [client.post("/signin/", wrong).status_code for _ in range(3)] == [200, 200, 200]

    slowed = client.post("/signin/", right)  # at once: even the right password waits
    assert slowed.status_code == 429
    assert "Try again in 2 seconds." in main(slowed)

    clock["now"] += 2.5
    assert client.post("/signin/", right).status_code == 302
