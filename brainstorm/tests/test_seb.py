"""Safe Exam Browser lock: with keys set, team pages and the API answer only SEB with one of them."""

import hashlib
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from market.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXAM_KEY = "a" * 64  # a Browser Exam Key as the SEB Config Tool shows it
OTHER_EXAM_KEY = "b" * 64
CONFIG_KEY = "c" * 64
OVERLAY_TOKEN = "test-overlay-token"  # settings_test sets OVERLAY_TOKEN to this

locked = override_settings(SEB_BROWSER_EXAM_KEYS=[EXAM_KEY, OTHER_EXAM_KEY], SEB_CONFIG_KEYS=[CONFIG_KEY])


def seb_hash(url: str, key: str) -> str:
    """What SEB sends: SHA-256 of the URL it requested followed by the key, in hex."""
    return hashlib.sha256((url + key).encode()).hexdigest()


def request_hash(url: str, key: str = EXAM_KEY) -> dict:
    return {"HTTP_X_SAFEEXAMBROWSER_REQUESTHASH": seb_hash(url, key)}


def config_key_hash(url: str, key: str = CONFIG_KEY) -> dict:
    return {"HTTP_X_SAFEEXAMBROWSER_CONFIGKEYHASH": seb_hash(url, key)}


def assert_seb_page(response) -> None:
    assert response.status_code == 403
    assert "Open this event in Safe Exam Browser" in response.content.decode()


@locked
def test_a_request_hash_made_with_a_browser_exam_key_opens_a_page(client):
    response = client.get("/signin/", **request_hash("http://testserver/signin/"))
    assert response.status_code == 200


@locked
def test_any_of_the_browser_exam_keys_is_accepted(client):
    response = client.get("/signin/", **request_hash("http://testserver/signin/", OTHER_EXAM_KEY))
    assert response.status_code == 200


@locked
def test_a_config_key_hash_opens_a_page(client):
    response = client.get("/signin/", **config_key_hash("http://testserver/signin/"))
    assert response.status_code == 200


@locked
def test_a_request_hash_opens_the_api(team_api):
    response = team_api.get("/api/portfolio", **request_hash("http://testserver/api/portfolio"))
    assert response.status_code == 200


@locked
def test_the_hash_covers_the_query_string(client):
    url = "http://testserver/signin/?next=/trade/"
    assert client.get("/signin/?next=/trade/", **request_hash(url)).status_code == 200
    assert_seb_page(client.get("/signin/?next=/trade/", **request_hash("http://testserver/signin/")))
    assert_seb_page(client.get("/signin/?next=/history/", **request_hash(url)))


@locked
def test_the_hash_of_another_url_is_refused(client):
    assert_seb_page(client.get("/signin/", **request_hash("http://testserver/signup/")))


@locked
def test_the_hash_for_another_host_or_scheme_is_refused(client):
    assert_seb_page(client.get("/signin/", **request_hash("http://elsewhere.test/signin/")))
    assert_seb_page(client.get("/signin/", **request_hash("https://testserver/signin/")))


@locked
def test_a_static_shared_value_is_refused(client):
    for value in (EXAM_KEY, hashlib.sha256(EXAM_KEY.encode()).hexdigest(), "1"):
        assert_seb_page(client.get("/signin/", HTTP_X_SAFEEXAMBROWSER_REQUESTHASH=value))
        assert_seb_page(client.get("/signin/", HTTP_X_SAFEEXAMBROWSER_CONFIGKEYHASH=value))


@locked
def test_a_hash_made_with_an_unknown_key_is_refused(client):
    assert_seb_page(client.get("/signin/", **request_hash("http://testserver/signin/", "d" * 64)))


@locked
def test_a_config_key_does_not_pass_as_a_browser_exam_key(client):
    assert_seb_page(client.get("/signin/", **request_hash("http://testserver/signin/", CONFIG_KEY)))
    assert_seb_page(client.get("/signin/", **config_key_hash("http://testserver/signin/", EXAM_KEY)))


@locked
def test_a_page_without_the_header_is_refused_with_the_seb_page(client):
    assert_seb_page(client.get("/"))
    assert_seb_page(client.get("/signin/"))
    assert_seb_page(client.get("/no-such-page/"))


@locked
def test_a_signed_in_team_outside_seb_sees_no_team_bar_and_no_script(client, team):
    client.force_login(team.user)
    response = client.get("/market/")
    assert_seb_page(response)
    page = response.content.decode()
    assert team.display_name not in page
    assert "app/app.js" not in page  # it would call the API, be refused and send the team to sign in


@locked
def test_the_api_without_the_header_is_refused_with_a_problem(api, team_api):
    assert_problem(team_api.get("/api/portfolio"), 403, "seb_required")
    signin = api.post("/api/auth/signin", {"email": "a@b.test", "password": "wrong-password"}, format="json")
    assert_problem(signin, 403, "seb_required")
    assert_problem(api.get("/api/docs/"), 403, "seb_required")


@locked
@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    TRUSTED_PROXIES=[ipaddress.ip_network("127.0.0.1/32")],  # the test client plays our proxy
)
def test_behind_a_tls_proxy_the_hash_is_of_the_https_url(client):
    proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "testserver"}  # as a proxy passes them on
    assert client.get("/signin/", **proxied, **request_hash("https://testserver/signin/")).status_code == 200
    assert_seb_page(client.get("/signin/", **proxied, **request_hash("http://testserver/signin/")))


@locked
def test_organisers_obs_and_health_checks_need_no_seb(client, admin_api):
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/api/health").status_code == 200
    assert client.get(f"/overlay/?token={OVERLAY_TOKEN}").status_code == 200
    assert client.get("/overlay/ticker").status_code == 403  # the overlay's own refusal: no token
    assert "Safe Exam Browser" not in client.get("/overlay/ticker").content.decode()
    assert admin_api.get("/api/admin/companies").status_code == 200
    # Without the overlay token the stream would serve a team's session: that needs SEB.
    assert_problem(client.get("/api/obs/events"), 403, "seb_required")


@locked
def test_static_files_need_no_seb(client):
    response = client.get("/static/app/app.css")
    assert response.status_code == 200
    response.close()


@locked
def test_exempt_prefixes_do_not_open_look_alike_paths(api):
    assert_problem(api.get("/api/healthz"), 403, "seb_required")
    assert_problem(api.get("/api/administrators"), 403, "seb_required")


@override_settings(SEB_BROWSER_EXAM_KEYS=[], SEB_CONFIG_KEYS=[])
def test_without_keys_nothing_is_asked(client, team_api):
    assert client.get("/signin/").status_code == 200
    assert team_api.get("/api/portfolio").status_code == 200


@override_settings(SEB_BROWSER_EXAM_KEYS=[], SEB_CONFIG_KEYS=[CONFIG_KEY])
def test_config_keys_alone_turn_the_lock_on(client):
    assert_seb_page(client.get("/signin/"))
    assert client.get("/signin/", **config_key_hash("http://testserver/signin/")).status_code == 200


def start(**env: str) -> subprocess.CompletedProcess:
    """Load the real settings with these SEB keys; print what they became."""
    clean = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "brainstorm.settings",
            "BRAINSTORM_IGNORE_DOTENV": "true",
            "SECRET_KEY": "k" * 50,
            **env,
        }
    )
    script = "import django; django.setup(); from django.conf import settings as s; print(s.SEB_BROWSER_EXAM_KEYS)"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_keys_are_read_as_a_list_in_the_case_seb_hashes_them():
    result = start(SEB_BROWSER_EXAM_KEYS=f" {'A' * 64} , {OTHER_EXAM_KEY},")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([EXAM_KEY, OTHER_EXAM_KEY])


@pytest.mark.parametrize("name", ["SEB_BROWSER_EXAM_KEYS", "SEB_CONFIG_KEYS"])
def test_a_mistyped_key_stops_start_up_without_printing_it(name):
    result = start(**{name: f"{EXAM_KEY},{'e' * 63}x"})
    assert result.returncode != 0
    assert f"{name}: key 2 is not a key as SEB shows it (64 hexadecimal digits)." in result.stderr
    assert "e" * 63 not in result.stderr


@locked
def test_the_obs_stream_with_its_token_needs_no_seb(rf):
    from common.middleware import SafeExamBrowserMiddleware

    assert SafeExamBrowserMiddleware._required(rf.get("/api/obs/events", {"token": "any"})) is False
    assert SafeExamBrowserMiddleware._required(rf.get("/api/obs/events")) is True
