"""Schemathesis fuzzes every operation of our OpenAPI schema: no input is ever a 5xx (SPEC §4).

The schema is read from `/api/schema/` and the Django app is called in-process over WSGI, on
pytest-django's test database (SQLite or PostgreSQL, whichever the run uses). The whole schema
runs twice: as an organiser and as a team, each with a Token header, over seeded rows (a
company, an open market, a team with a trade, a news item) that path parameters hit some of
the time, and half the bodies are made mostly valid so that the code behind validation runs.
Every answer below 500 is fine here, 429 included; the other tests pin the codes.

Schemathesis is driven through `from_wsgi` + `@schema.parametrize()` (one pytest item per
operation and role), not `schemathesis.pytest.from_fixture`: 4.32.5's lazy loader sets
`Node._nodeid`, which pytest 9.2 no longer has.

Last, explicit cases for text the fuzzer's generator rarely or never makes (NUL, lone
surrogates) and for query filters the schema does not describe.
"""

import json
import os
import traceback

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error

from brainstorm.wsgi import application
from conftest import TEAM_PASSWORD
from market import services
from newsroom.services import news_create

# Per operation and role; FUZZ_MAX_EXAMPLES=500 digs deeper locally.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))


@pytest.fixture
def _in_process_wsgi(settings):
    """Let the WSGI handler run inside the test's transaction, as Django's own test client does.

    A real request ends with `close_old_connections`, which drops a connection left outside
    autocommit: here that is the test transaction, so keep the handler from touching it.
    """
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def server_errors():
    """Tracebacks of the exceptions behind any 500, so a failure shows where it came from."""
    seen: list[str] = []

    def record(sender, request=None, **kwargs):
        seen.append(f"{request.method} {request.get_full_path()}\n{traceback.format_exc()}")

    got_request_exception.connect(record, weak=False)
    yield seen
    got_request_exception.disconnect(record)


@pytest.fixture
def seeded(db, make_team, make_company, admin_user):
    company = make_company("ACME", "10.00")
    make_company("IDLE", "5.00", is_active=False)
    services.market_open(by=None)
    team = make_team("Bull Riders", school="SMA 1")
    trade = services.trade_execute(participant=team, company=company, side="buy", quantity=10).transaction
    waiting = {"ticker": "ACME", "type": "sell", "kind": "limit", "quantity": 5, "price": "20.00"}
    order = services.book_place(participant=team, data=waiting).order
    news = news_create(by=None, title="Rates hold", content="The central bank held rates.", published_at=timezone.now())
    return {
        "admin": admin_user,
        "team": team,
        "rows": {
            "company": company,
            "participant": team,
            "transaction": trade,
            "news": news,
            "order": order,
        },
    }


def _load_schema():
    # Collection runs before pytest-django's test environment exists: allow the WSGI client's host here.
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()

_REAL_ID_FOR = {
    "/api/admin/companies/": "company",
    "/api/admin/news/": "news",
    "/api/news/": "news",
    "/api/admin/participants/": "participant",
    "/api/admin/transactions/": "transaction",
    "/api/admin/orders/": "order",
}


def _aim_at_real_rows(case, rows: dict) -> None:
    """Point path parameters at seeded rows instead of random ones."""
    if "id" in case.path_parameters:
        for prefix, name in _REAL_ID_FOR.items():
            if case.path.startswith(prefix):
                case.path_parameters["id"] = str(rows[name].pk)
    if "order_id" in case.path_parameters:
        case.path_parameters["order_id"] = str(rows["order"].pk)
    if "ticker" in case.path_parameters:
        case.path_parameters["ticker"] = "acme"


_tickers = st.from_regex(r"\AFZ[A-Z0-9]{1,8}\Z")
_emails = st.from_regex(r"\Afuzz[a-z0-9]{1,12}@school\.test\Z")
_names = st.from_regex(r"\AFuzz [a-z0-9]{1,20}\Z")
_COMPANY = {"ticker": _tickers, "name": _names, "current_price": st.just("12.50")}
_TEAM = {"email": _emails, "password": st.just("a-long-fuzz-password"), "display_name": _names}
# Values the API accepts, by operation: schemathesis' own rarely pass every check at once
# (prices below 0.01 match the schema's pattern, unique fields collide, extra keys are refused).
_GOOD_VALUES = {
    ("POST", "/api/admin/companies"): _COMPANY,
    ("PUT", "/api/admin/companies/{id}"): _COMPANY,
    ("PATCH", "/api/admin/companies/{id}"): {"current_price": st.just("11.00")},
    ("POST", "/api/admin/participants"): _TEAM,
    ("PATCH", "/api/admin/participants/{id}"): {"display_name": _names},
    ("POST", "/api/admin/participants/{id}/adjust-cash"): {"amount": st.just("1.00"), "reason": st.just("fuzz")},
    ("POST", "/api/admin/news"): {"title": st.just("Fuzz"), "content": st.just("Fuzzed.")},
    ("PUT", "/api/admin/news/{id}"): {"title": st.just("Fuzz"), "content": st.just("Fuzzed.")},
    ("POST", "/api/auth/signup"): _TEAM,
    # make_team numbers its teams from 1: the seeded team signs in as team1.
    ("POST", "/api/auth/signin"): {"email": st.just("team1@school.test"), "password": st.just(TEAM_PASSWORD)},
    ("POST", "/api/transactions"): {
        "ticker": st.just("ACME"),
        "type": st.sampled_from(["buy", "sell"]),
        "quantity": st.integers(1, 20),
    },
    ("POST", "/api/orders"): {
        "ticker": st.just("ACME"),
        "type": st.sampled_from(["buy", "sell"]),
        "kind": st.sampled_from(["limit", "stop"]),
        "quantity": st.integers(1, 20),
        "price": st.sampled_from(["5.00", "10.00", "15.00"]),
        "expires": st.sampled_from(["day", "cancel"]),
    },
    ("POST", "/api/admin/orders/{id}/cancel"): {"reason": st.just("fuzz")},
}


def _declared_fields(case) -> set[str]:
    operation = schema.raw_schema["paths"][case.path][case.method.lower()]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    return (
        set(schema.raw_schema["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("properties", {})) if ref else set()
    )


def _mostly_valid_body(case, data) -> None:
    """Keep the body's declared fields, make most required ones acceptable: reach the code behind validation."""
    if not isinstance(case.body, dict):
        return
    body = {name: value for name, value in case.body.items() if name in _declared_fields(case)}
    for name, values in _GOOD_VALUES.get((case.method, case.path), {}).items():
        if data.draw(st.integers(0, 3), label=f"fix {name}"):
            body[name] = data.draw(values, label=name)
    case.body = body


@schema.given(data=st.data())
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@pytest.mark.parametrize("role", ["admin", "participant"])
def test_no_operation_answers_a_server_error(case, data, role, seeded, _in_process_wsgi, server_errors):
    user = seeded["admin"] if role == "admin" else seeded["team"].user
    if data.draw(st.booleans(), label="aim at real rows"):
        _aim_at_real_rows(case, seeded["rows"])
    if data.draw(st.booleans(), label="mostly valid body"):
        _mostly_valid_body(case, data)
    # Sign-out deletes the token: (re)make it, so that every example is signed in.
    token, _ = Token.objects.get_or_create(user=user)
    server_errors.clear()

    response = case.call(headers={"Authorization": f"Token {token.key}"})

    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}\n"
        f"{case.as_curl_command()}\n{''.join(server_errors)}"
    )
    case.validate_response(response, checks=[not_a_server_error])


# Strings PostgreSQL refuses (NUL) and strings UTF-8 cannot encode (lone surrogates), in
# free-text inputs. Schemathesis generates UTF-8-encodable text only and seldom puts NUL where
# it matters, so these are spelled out.
NUL, SURROGATE = "a\x00b", "a\ud800b"
_NEW_COMPANY = {"ticker": "NUL", "name": "Nul", "current_price": "1.00"}


def _bad_text_cases():
    for label, text in [("nul", NUL), ("surrogate", SURROGATE)]:
        yield pytest.param("POST", "/api/admin/companies", {**_NEW_COMPANY, "name": text}, id=f"company-name-{label}")
        yield pytest.param(
            "POST", "/api/admin/companies", {**_NEW_COMPANY, "description": text}, id=f"company-description-{label}"
        )
        yield pytest.param(
            "POST",
            "/api/admin/companies",
            {**_NEW_COMPANY, "financials": {"note": text}},
            id=f"company-financials-value-{label}",
        )
        yield pytest.param(
            "POST",
            "/api/admin/companies",
            {**_NEW_COMPANY, "financials": {text: 1}},
            id=f"company-financials-key-{label}",
        )
        yield pytest.param(
            "PATCH",
            "/api/admin/companies/{company}",
            {"financials": {"note": text}},
            id=f"company-patch-financials-{label}",
        )
        yield pytest.param("POST", "/api/admin/news", {"title": text, "content": text}, id=f"news-{label}")
        yield pytest.param(
            "POST",
            "/api/admin/participants/{participant}/adjust-cash",
            {"amount": "1.00", "reason": text},
            id=f"adjust-cash-reason-{label}",
        )
        yield pytest.param(
            "POST",
            "/api/auth/signup",
            {"email": "nul@school.test", "password": "a-long-password", "display_name": text, "school": text},
            id=f"signup-{label}",
        )
        yield pytest.param("POST", "/api/auth/signin", {"email": text, "password": text}, id=f"signin-{label}")
        # Strict serializers name an unknown field in the answer: the name is echoed back.
        yield pytest.param("POST", "/api/admin/news", {"title": "T", "content": "C", text: 1}, id=f"news-key-{label}")
        yield pytest.param(
            "PATCH", "/api/admin/participants/{participant}", {text: 1}, id=f"participant-patch-key-{label}"
        )
        yield pytest.param("POST", "/api/admin/orders/{order}/cancel", {"reason": text}, id=f"order-cancel-{label}")
    # Query filters the schema does not describe (the admin's trade and order lists read them by hand).
    for name in ["status", "ticker", "participant"]:
        yield pytest.param("GET", f"/api/admin/orders?{name}=a%00b", None, id=f"orders-filter-{name}-nul")
    for name in ["ticker", "type", "participant", "day"]:
        yield pytest.param("GET", f"/api/admin/transactions?{name}=a%00b", None, id=f"transactions-filter-{name}-nul")
        yield pytest.param(
            "GET", f"/api/admin/transactions?{name}=a%ED%A0%80b", None, id=f"transactions-filter-{name}-bad-utf8"
        )


@pytest.mark.parametrize(("method", "path", "body"), list(_bad_text_cases()))
def test_nul_and_lone_surrogates_are_refused_not_a_server_error(method, path, body, seeded, server_errors):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(seeded["admin"])
    rows = seeded["rows"]
    url = path.format(company=rows["company"].pk, participant=rows["participant"].pk, order=rows["order"].pk)
    raw = None if body is None else json.dumps(body)

    response = client.generic(method, url, raw or "", content_type="application/json")

    assert response.status_code < 500, f"{method} {url} {raw} answered {response.status_code}\n{''.join(server_errors)}"
