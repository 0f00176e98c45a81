"""Our pages run under `script-src 'self'; style-src 'self'` with no exception: no inline script
(JSON data blocks aside), no event-handler attribute, no inline style. Every page we draw is
rendered and read; the scripts are read for the calls that would need an exception."""

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from common import views
from market import services
from market.models import EventSettings
from newsroom.services import news_create

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-overlay-token"  # settings_test sets OVERLAY_TOKEN to this


class InlineCode(HTMLParser):
    """Collects what a strict policy would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value for name, value in attrs}
        for name in names:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
        if "style" in names:
            self.found.append(f"<{tag} style=…>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"<script {names}> without src")
        if "nonce" in names:
            self.found.append(f"<{tag} nonce>")


def inline_code(response) -> list[str]:
    parser = InlineCode()
    parser.feed(response.content.decode())
    parser.close()
    return parser.found


def assert_strict(response, label: str) -> None:
    assert inline_code(response) == [], label
    assert "Content-Security-Policy" in response, label
    assert "nonce-" not in response["Content-Security-Policy"], label  # our pages need none


@pytest.fixture
def traded(team, company, open_market):
    services.trade_execute(participant=team, company=company, side="buy", quantity=3)
    services.price_set(company=company, price=Decimal("11.00"), by=None)
    return news_create(by=None, title="Acme doubles output", content="Shares jump.", published_at=timezone.now())


def test_the_team_pages_have_no_inline_code(client, team, traded):
    client.force_login(team.user)
    pages = ["/market/", "/market/?company=ACME", "/trade/", "/trade/?company=ACME", "/portfolio/", "/history/"]
    pages += ["/leaderboard/", "/news/", f"/news/{traded.pk}/", "/settings/", "/no-such-page/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_strict(response, path)


def test_the_json_data_blocks_are_the_only_scripts_without_a_file(client, team, traded):
    client.force_login(team.user)
    page = client.get("/market/?company=ACME").content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == ['<script id="chart-data" type="application/json">']


def test_the_pages_before_sign_in_have_no_inline_code(client):
    for path in ("/", "/signin/", "/signup/", "/no-such-page/", "/?q=%00"):
        assert_strict(client.get(path), path)
    failed = client.post("/signin/", {"username": "nobody@school.test", "password": "wrong-password"})
    assert_strict(failed, "failed sign-in")


def test_the_closed_pages_have_no_inline_code(client, team):
    settings = EventSettings.load()
    settings.signup_open = False
    settings.leaderboard_visible = False
    settings.save()
    assert_strict(client.get("/signup/"), "sign-up closed")
    client.force_login(team.user)
    response = client.get("/leaderboard/")
    assert response.status_code == 403
    assert_strict(response, "leaderboard hidden")


def test_every_error_page_has_no_inline_code(client, team, admin_user):
    request = RequestFactory().get("/market/")
    request.user = team.user
    for reason in [*sorted(views.FORBIDDEN_REASONS), ""]:
        assert_strict_body(views.forbidden(request, reason=reason), f"403 {reason}")
    assert_strict_body(views.server_error(request), "500")
    assert_strict_body(views.bad_request(request), "400")

    client.force_login(admin_user)
    assert_strict(client.get("/market/"), "403 role")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(team.user)
    assert_strict(strict.post("/signout/"), "403 csrf")


def assert_strict_body(response, label: str) -> None:
    """For an error view called directly: the body only (the middleware adds the header)."""
    assert inline_code(response) == [], label


def test_the_overlay_pages_have_no_inline_code(client):
    for page in ("", "ticker", "leaderboard", "news", "bell"):
        response = client.get(f"/overlay/{page}", {"token": TOKEN, "theme": "light"})
        assert response.status_code == 200, page
        assert_strict(response, f"overlay {page}")
    refused = client.get("/overlay/")
    assert refused.status_code == 403
    assert_strict(refused, "overlay without token")


@override_settings(SEB_BROWSER_EXAM_KEYS=["a" * 64])
def test_the_safe_exam_browser_refusal_has_no_inline_code(client, team):
    client.force_login(team.user)
    assert_strict(client.get("/market/"), "403 seb")


def test_the_control_room_and_our_admin_pages_have_no_inline_code(client, admin_user, traded):
    client.force_login(admin_user)
    pages = ["/admin/", "/admin/control-room/", "/admin/market/participant/", "/admin/market/transaction/"]
    pages += ["/admin/market/participant/import/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response, path)


def admin_pages():
    for model, model_admin in admin.site._registry.items():
        yield pytest.param(model, model_admin, id=model._meta.label)


@pytest.mark.parametrize("model, model_admin", list(admin_pages()))
def test_the_admin_lists_and_forms_run_no_inline_script(client, admin_user, traded, model, model_admin):
    client.force_login(admin_user)
    info = (model._meta.app_label, model._meta.model_name)
    pages = [reverse("admin:{}_{}_changelist".format(*info))]
    first = model.objects.first()
    if first is not None:
        pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    if model_admin.has_add_permission(_as_admin(admin_user)):
        pages.append(reverse("admin:{}_{}_add".format(*info)))
    for path in pages:
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        assert_strict(response, path)


def _as_admin(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# Calls in our scripts that a strict policy refuses, or that could smuggle inline code in.
REFUSED_CALLS = re.compile(
    r"\beval\(|new Function\(|set(?:Timeout|Interval)\(\s*[\"'`]|\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML"
    r"|document\.write|setAttribute\(\s*[\"'](?:on|style)"
)


def test_our_scripts_make_no_call_the_policy_would_refuse():
    scripts = sorted((ROOT / "static").glob("*/*.js"))
    assert len(scripts) >= 8
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in scripts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if REFUSED_CALLS.search(line)
    ]
    assert found == []
