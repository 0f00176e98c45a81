"""Inputs a hostile or careless client sends: each gets a clear problem, never a 500."""

import pytest
from django.test import override_settings

from market.models import EventSettings
from market.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def test_a_nul_in_the_query_string_is_refused(admin_api):
    assert_problem(admin_api.get("/api/admin/transactions?ticker=a%00b"), 400, "validation_error")


def test_a_nul_in_a_page_query_string_is_refused(client):
    assert client.get("/admin/login/?next=%00").status_code == 400


def test_a_forged_forwarded_for_does_not_escape_the_sign_in_throttle(api, team):
    statuses = [
        api.post(
            "/api/auth/signin",
            {"email": team.user.email, "password": "wrong-password"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(25)
    ]
    assert statuses[-1] == 429


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversized_body_is_refused_before_it_is_parsed(api):
    body = '{"email": "' + "a" * 2000 + '@x.test", "password": "x"}'
    assert_problem(api.post("/api/auth/signin", body, content_type="application/json"), 413, "request_too_large")


def test_a_closed_sign_up_does_not_reveal_which_emails_exist(api, team):
    settings = EventSettings.load()
    settings.signup_open = False
    settings.save()
    body = {"email": team.user.email, "password": "a-strong-pass-phrase", "display_name": "X"}
    assert_problem(api.post("/api/auth/signup", body, format="json"), 403, "signup_closed")
