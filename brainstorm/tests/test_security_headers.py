"""Security headers and cookies: HSTS, a strict Content-Security-Policy, nosniff, referrer and frame
rules, and session and CSRF cookies that are Secure, HttpOnly and SameSite in production."""

import json
import re
import secrets

import pytest
from django.test import Client, override_settings

from brainstorm.tests.production import run_python

HOST = "brainstorm.example.org"

# What the production settings give (checked against the real settings module below).
PRODUCTION = {
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_REDIRECT_EXEMPT": [r"^api/health$"],
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
}
production = override_settings(DEBUG=False, **PRODUCTION)

# Our pages need nothing inline: no nonce, no 'unsafe-inline', no 'unsafe-eval'.
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", "ws://testserver", "wss://testserver"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def run_production(script: str, **env: str) -> dict:
    """Run `script` (which prints JSON) under the real settings module with a production environment."""
    result = run_python(
        "import django; django.setup()\n" + script, SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS=HOST, **env
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_make_cookies_secure_and_turn_on_hsts(tmp_path):
    names = [*PRODUCTION, "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE"]
    names += ["CSRF_COOKIE_SAMESITE", "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY"]
    script = (
        f"import json; from django.conf import settings as s\nprint(json.dumps({{n: getattr(s, n) for n in {names}}}))"
    )
    found = run_production(script, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert found == {
        **PRODUCTION,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
    }


ANSWER_HEADERS = """
import json
from django.test import Client
response = Client().get("/api/health", secure=True, HTTP_HOST="brainstorm.example.org")
print(json.dumps({name: response.get(name) for name in (
    "Strict-Transport-Security", "Content-Security-Policy", "Content-Security-Policy-Report-Only",
    "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy")}))
"""


def test_a_production_server_answers_with_every_security_header(tmp_path):
    headers = run_production(ANSWER_HEADERS, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert f"connect-src 'self' ws://{HOST} wss://{HOST}" in headers["Content-Security-Policy"]
    assert headers["Content-Security-Policy-Report-Only"] is None


def test_the_policy_is_enforced_in_development_too(tmp_path):
    headers = run_production(ANSWER_HEADERS, DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Content-Security-Policy-Report-Only"] is None


@production
@pytest.mark.django_db
def test_a_page_over_https_carries_hsts_and_the_other_headers(client):
    response = client.get("/signin/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert policy(response) == POLICY


@production
@pytest.mark.django_db
def test_plain_http_is_sent_to_https_except_the_health_check(client):
    response = client.get("/signin/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/signin/"
    assert client.get("/api/health").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/signin/", "/api/market", "/api/health", "/no-such-page/", "/api/nothing"])
def test_every_answer_carries_the_policy(client, path):
    response = client.get(path)
    assert policy(response) == POLICY
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.django_db
def test_team_pages_carry_the_policy(client, team, company):
    client.force_login(team.user)
    for path in ("/market/", "/market/?company=ACME", "/trade/", "/portfolio/", "/history/", "/settings/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert policy(response) == POLICY, path


@pytest.mark.django_db
def test_the_overlay_and_its_refusal_carry_the_policy(client):
    # The one difference: OBS applies a browser source's "Custom CSS" as an inline <style>.
    overlay_policy = {**POLICY, "style-src": [*POLICY["style-src"], "'unsafe-inline'"]}
    assert policy(client.get("/overlay/?token=test-overlay-token")) == overlay_policy
    assert policy(client.get("/overlay/")) == overlay_policy
    assert "'unsafe-inline'" not in str(policy(client.get("/signin/")))  # nowhere else


@override_settings(SEB_BROWSER_EXAM_KEYS=["a" * 64])
@pytest.mark.django_db
def test_the_safe_exam_browser_refusal_carries_the_policy(client):
    response = client.get("/signin/")
    assert response.status_code == 403
    assert policy(response) == POLICY


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["127.0.0.1"])
def test_the_live_socket_is_allowed_on_the_host_and_port_the_page_came_from(client):
    sources = policy(client.get("/signin/", HTTP_HOST="127.0.0.1:8000"))["connect-src"]
    assert sources == ["'self'", "ws://127.0.0.1:8000", "wss://127.0.0.1:8000"]


@pytest.mark.django_db
def test_an_unknown_host_gets_the_policy_without_a_socket(client):
    response = client.get("/signin/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert policy(response)["connect-src"] == ["'self'"]


@pytest.mark.django_db
def test_the_api_docs_run_their_inline_code_by_nonce_only(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    found = policy(response)
    (nonce,) = re.findall(r"'nonce-([^']+)'", " ".join(found["script-src"]))
    assert found["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert found["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    page = response.content.decode()
    assert page.count(f'nonce="{nonce}"') == 2  # the start-up script and the style block
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [f'<script nonce="{nonce}">']
    assert re.findall(r"<style[^>]*>", page) == [f'<style nonce="{nonce}">']
    again = policy(client.get("/api/docs/"))["script-src"]
    assert again != found["script-src"]  # a fresh nonce each time


def cookie_flags(morsel) -> tuple[bool, bool, str]:
    return bool(morsel["secure"]), bool(morsel["httponly"]), morsel["samesite"]


@production
@pytest.mark.django_db
def test_signing_in_sets_secure_http_only_same_site_cookies(team):
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/signin/", secure=True)
    assert cookie_flags(form.cookies["csrftoken"]) == (True, True, "Lax")

    token = form.context["csrf_token"]
    body = {"username": team.user.email, "password": "correct-horse-battery", "csrfmiddlewaretoken": token}
    response = browser.post("/signin/", body, secure=True, HTTP_REFERER="https://testserver/signin/")
    assert response.status_code == 302
    assert cookie_flags(response.cookies["sessionid"]) == (True, True, "Lax")
    assert cookie_flags(response.cookies["csrftoken"]) == (True, True, "Lax")  # rotated at sign-in


@production
@pytest.mark.django_db
def test_signing_in_through_the_api_sets_the_same_session_cookie(api, team):
    body = {"email": team.user.email, "password": "correct-horse-battery"}
    response = api.post("/api/auth/signin", body, format="json", secure=True)
    assert response.status_code == 200
    assert cookie_flags(response.cookies["sessionid"]) == (True, True, "Lax")
