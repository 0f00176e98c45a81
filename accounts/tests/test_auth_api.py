import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role, User
from conftest import TEAM_PASSWORD
from market.models import EventSettings, Participant

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "captain@sman1.sch.id",
    "password": "a-strong-pass-phrase",
    "display_name": "Golden Cross",
    "school": "SMAN 1 Bandung",
}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def test_signup_creates_participant_with_event_starting_cash(api):
    settings = EventSettings.load()
    settings.starting_cash = "250000.00"
    settings.save()

    response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == SIGNUP["email"]
    assert body["user"]["role"] == "participant"
    assert body["participant"]["display_name"] == "Golden Cross"
    assert body["participant"]["school"] == "SMAN 1 Bandung"
    assert body["participant"]["cash"] == "250000.00"
    assert body["participant"]["portfolio_value"] == "250000.00"
    assert "password" not in body["user"]
    participant = Participant.objects.get(user__email=SIGNUP["email"])
    assert participant.starting_cash == participant.cash


def test_signup_forces_role_participant_even_when_body_says_admin(api):
    response = api.post("/api/auth/signup", {**SIGNUP, "role": "admin"}, format="json")

    assert response.status_code == 201
    user = User.objects.get(email=SIGNUP["email"])
    assert user.role == Role.PARTICIPANT
    assert not user.is_staff


def test_signup_refuses_same_email_in_another_case(api, team):
    response = api.post("/api/auth/signup", {**SIGNUP, "email": team.user.email.upper()}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "email" in body["errors"]
    assert User.objects.filter(email__iexact=team.user.email).count() == 1


def test_signup_refuses_a_taken_team_name_in_another_case(api, team):
    response = api.post("/api/auth/signup", {**SIGNUP, "display_name": team.display_name.upper()}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert list(body["errors"]) == ["display_name"]
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


def test_signup_refuses_a_weak_password_and_creates_nothing(api):
    response = api.post("/api/auth/signup", {**SIGNUP, "password": "12345"}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "password" in body["errors"]
    assert not User.objects.exists()


def test_signup_lists_every_missing_field(api):
    body = assert_problem(api.post("/api/auth/signup", {}, format="json"), 400, "validation_error")
    assert set(body["errors"]) == {"email", "password", "display_name"}


def test_signup_closed_by_event_settings(api):
    settings = EventSettings.load()
    settings.signup_open = False
    settings.save()

    assert_problem(api.post("/api/auth/signup", SIGNUP, format="json"), 403, "signup_closed")
    assert not User.objects.exists()


@override_settings(SIGNUP_OPEN=False)
def test_signup_closed_by_environment_whatever_the_event_settings(api):
    assert EventSettings.load().signup_open
    assert_problem(api.post("/api/auth/signup", SIGNUP, format="json"), 403, "signup_closed")
    assert not User.objects.exists()


def test_signin_returns_user_token_and_session(api, team):
    response = api.post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["participant"]["display_name"] == "Bull Riders"
    assert body["token"] == Token.objects.get(user=team.user).key
    assert "sessionid" in response.cookies
    # The session alone now authenticates.
    assert api.get("/api/auth/me").json()["email"] == team.user.email


def test_signin_accepts_the_email_in_any_case(api, team):
    response = api.post(
        "/api/auth/signin", {"email": team.user.email.upper(), "password": TEAM_PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_signin_with_wrong_password_is_invalid_credentials(api, team):
    response = api.post("/api/auth/signin", {"email": team.user.email, "password": "wrong-password"}, format="json")

    assert_problem(response, 400, "invalid_credentials")
    assert "sessionid" not in response.cookies


def test_signin_with_unknown_email_answers_exactly_like_a_wrong_password(api, team):
    unknown = api.post("/api/auth/signin", {"email": "nobody@school.test", "password": "x" * 12}, format="json")
    wrong = api.post("/api/auth/signin", {"email": team.user.email, "password": "x" * 12}, format="json")

    assert unknown.json() == wrong.json()


def test_signin_refuses_a_deactivated_user(api, team):
    User.objects.filter(pk=team.user.pk).update(is_active=False)
    response = api.post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")
    assert_problem(response, 400, "invalid_credentials")


def test_token_authenticates_scripts(team):
    token = (
        APIClient()
        .post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")
        .json()["token"]
    )
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert script.get("/api/auth/me").json()["participant"]["id"] == str(team.id)


def test_signout_revokes_the_token_and_ends_the_session(team):
    browser = APIClient()
    token = browser.post(
        "/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json"
    ).json()["token"]
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert script.post("/api/auth/signout").status_code == 204

    assert_problem(script.get("/api/auth/me"), 401, "authentication_failed")
    assert not Token.objects.filter(user=team.user).exists()


def test_signout_ends_the_browser_session(team):
    browser = APIClient()
    browser.post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")

    assert browser.post("/api/auth/signout").status_code == 204
    assert_problem(browser.get("/api/auth/me"), 401, "not_authenticated")


def test_session_writes_need_the_csrf_token(team):
    browser = APIClient(enforce_csrf_checks=True)
    browser.post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")

    body = assert_problem(browser.post("/api/auth/signout"), 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert browser.get("/api/auth/me").status_code == 200


def test_me_shows_role_and_participant(team_api, team):
    body = team_api.get("/api/auth/me").json()

    assert body["role"] == "participant"
    assert body["participant"]["id"] == str(team.id)
    assert body["participant"]["cash"] == "100000.00"


def test_me_for_an_admin_has_no_participant(admin_api):
    body = admin_api.get("/api/auth/me").json()
    assert body["role"] == "admin"
    assert body["participant"] is None


def test_anonymous_gets_401_problem_with_a_challenge(api):
    response = api.get("/api/auth/me")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_participant_is_refused_admin_endpoints(team_api):
    assert_problem(team_api.get("/api/admin/participants"), 403, "permission_denied")


def test_admin_reaches_admin_endpoints_and_sees_every_team(admin_api, team, other_team):
    response = admin_api.get("/api/admin/participants")
    assert response.status_code == 200
    names = [row["display_name"] for row in response.json()["results"]]
    assert names == ["Bear Necessities", "Bull Riders"]


def test_anonymous_is_refused_admin_endpoints(api):
    assert_problem(api.get("/api/admin/participants"), 401, "not_authenticated")


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        ('{"email": ', "application/json", 400, "parse_error"),
        ("[1, 2]", "application/json", 400, "validation_error"),
        ('"just a string"', "application/json", 400, "validation_error"),
        ("email=a@b.c", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_malformed_signin_bodies_get_problems(api, body, content_type, status, code):
    assert_problem(api.post("/api/auth/signin", body, content_type=content_type), status, code)


def test_wrong_method_is_a_problem(api):
    assert_problem(api.get("/api/auth/signin"), 405, "method_not_allowed")


def test_unknown_api_path_is_a_problem(api):
    assert_problem(api.get("/api/no-such-thing"), 404, "not_found")


def test_signin_is_throttled(api, team):
    statuses = [
        api.post(
            "/api/auth/signin", {"email": team.user.email, "password": "wrong-password"}, format="json"
        ).status_code
        for _ in range(25)
    ]
    assert statuses[0] == 400
    assert statuses[-1] == 429
    response = api.post("/api/auth/signin", {"email": team.user.email, "password": TEAM_PASSWORD}, format="json")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_an_api_token_brings_its_account_and_team_in_one_query(team, django_assert_num_queries):
    from rest_framework.authtoken.models import Token

    from market.authentication import TokenAuthentication

    key = Token.objects.create(user=team.user).key
    with django_assert_num_queries(1):
        user, token = TokenAuthentication().authenticate_credentials(key)
        assert user.participant.display_name == team.display_name
        assert user.participant.user is user and token.user is user
    assert token.key == key


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_token_query_reads_every_field_as_the_orm_does(make_team):
    """The authentication's own SQL gives the same values, of the same types, as the ORM's read,
    on either database (SQLite keeps UUIDs as text, booleans as integers, decimals as floats)."""
    from market.authentication import TokenAuthentication

    team = make_team(school="Hill School")
    team.is_frozen = True
    team.save()
    key = Token.objects.create(user=team.user).key
    user, token = TokenAuthentication().authenticate_credentials(key)
    expected_user, expected_team = User.objects.get(pk=team.user.pk), Participant.objects.get(pk=team.pk)
    for loaded, expected in ((user, expected_user), (user.participant, expected_team), (token, Token.objects.get())):
        assert _fields(loaded) == _fields(expected)
        assert {k: type(v) for k, v in _fields(loaded).items()} == {k: type(v) for k, v in _fields(expected).items()}
        assert not loaded._state.adding
    user.participant.display_name = "Renamed"
    user.participant.save(update_fields=["display_name"])  # an instance the ORM can save
    assert Participant.objects.get(pk=team.pk).display_name == "Renamed"


def test_an_organisers_token_brings_an_account_without_a_team(admin_user):
    from market.authentication import TokenAuthentication

    user, _ = TokenAuthentication().authenticate_credentials(Token.objects.create(user=admin_user).key)
    assert user.pk == admin_user.pk and user.is_staff
    assert not hasattr(user, "participant")


def test_an_unknown_token_is_refused(db):
    from rest_framework.exceptions import AuthenticationFailed

    from market.authentication import TokenAuthentication

    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate_credentials("0" * 40)


def test_the_token_of_a_deactivated_account_is_refused(team, api):
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=team.user).key
    team.user.is_active = False
    team.user.save()
    response = api.get("/api/portfolio", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["detail"] == "User inactive or deleted."
