"""The Content-Security-Policy in a real browser (headless Chromium against Daphne): the team pages
with their live socket and charts, the overlay, the control room, the admin and the API docs all
work, and the browser reports no refusal."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from market import services
from newsroom.services import news_create
from overlay.tests.servers import TOKEN

# Committed data, so the server process sees it; once, on SQLite: the pages are the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

PASSWORD = "lantern-harbour-41"


@pytest.fixture
def event(admin_user, team, make_company, open_market):
    acme = make_company("ACME", "10.00")
    make_company("BOLT", "3.50")
    services.trade_execute(participant=team, company=acme, side="buy", quantity=3)
    services.price_set(company=acme, price=Decimal("11.00"), by=None)
    news_create(by=None, title="Acme doubles output", content="Shares jump.", published_at=timezone.now())
    # Passwords the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        for user in (admin_user, team.user):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])


@pytest.fixture
def watched(browser):
    """A browser profile that records every policy refusal and script error."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    refused, errors = [], []
    context.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context, refused, errors
    context.close()


def test_the_team_pages_run_live_with_their_charts_and_nothing_refused(watched, server, event, team):
    context, refused, errors = watched
    base = f"http://127.0.0.1:{server['port']}"
    page = context.new_page()
    page.goto(f"{base}/signin/?next=/market/")
    page.get_by_label("E-mail").fill(team.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/market/")
    header = page.evaluate("() => fetch(location.href).then((r) => r.headers.get('content-security-policy'))")
    # Directives in any order (django-csp does not keep the settings' order from one process to the next).
    policy = {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}
    assert policy["script-src"] == ["'self'"]
    assert f"ws://127.0.0.1:{server['port']}" in policy["connect-src"]
    page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)  # the WebSocket
    assert page.evaluate("() => typeof window.Chart") == "function"
    page.wait_for_function("() => Chart.getChart(document.getElementById('price-chart')) !== undefined")

    page.goto(f"{base}/portfolio/")
    page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)
    page.wait_for_function("() => Chart.getChart(document.getElementById('value-chart')) !== undefined")
    for path in ("/trade/?company=ACME", "/history/", "/leaderboard/", "/news/", "/settings/"):
        page.goto(f"{base}{path}")
        page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)
    assert refused == []
    assert errors == []


def test_the_overlay_runs_live_and_nothing_is_refused(watched, server, event):
    context, refused, errors = watched
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token={TOKEN}")
    page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)
    page.locator("#ticker [data-role=tape]").get_by_text("ACME").first.wait_for()
    page.goto(f"http://127.0.0.1:{server['port']}/overlay/ticker")  # the refusal, styled from its file
    assert page.evaluate("() => getComputedStyle(document.body).color") == "rgb(255, 255, 255)"
    assert refused == []
    assert errors == []


def test_the_admin_the_control_room_and_the_api_docs_work_and_nothing_is_refused(watched, server, event, admin_user):
    context, refused, errors = watched
    base = f"http://127.0.0.1:{server['port']}"
    page = context.new_page()
    page.goto(f"{base}/admin/control-room/")  # to the admin's sign-in, and back
    page.fill("#id_username", admin_user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/control-room/")
    page.locator('[data-copy="overlay-ticker"]').wait_for()  # control.js shows the copy buttons

    for path in ("/admin/", "/admin/market/participant/", "/admin/market/participant/add/"):
        page.goto(f"{base}{path}")
    page.goto(f"{base}/admin/market/transaction/")
    page.locator("#changelist-filter").wait_for()

    page.goto(f"{base}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()  # Swagger UI started: its nonce worked
    page.locator(".opblock-tag").first.wait_for()

    assert refused == []
    assert errors == []


def test_the_spreadsheet_export_selects_all_fields_without_its_inline_handler(watched, server, event, admin_user):
    context, refused, errors = watched
    base = f"http://127.0.0.1:{server['port']}"
    page = context.new_page()
    page.goto(f"{base}/admin/market/participant/export/")
    page.fill("#id_username", admin_user.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/market/participant/export/")
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]:visible')
    assert fields.count() > 0

    page.locator("input.select-toggle:visible").uncheck()
    assert all(not box.is_checked() for box in fields.all())
    page.locator("input.select-toggle:visible").check()
    assert all(box.is_checked() for box in fields.all())
    label = page.locator('label[for="select-all-toggle"]:visible')
    assert label.evaluate("(label) => getComputedStyle(label).fontWeight") == "700"  # export.css
    # The package's own inline handler and style attributes are refused, and only they.
    kinds = {text.split(" violates")[0] for text in refused}
    assert kinds == {"Applying inline style", "Executing inline event handler"}, refused
    assert errors == []
