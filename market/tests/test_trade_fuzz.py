"""Bad input to POST /api/transactions is never a 500 and never a trade (SPEC §4).

With the market open, a team posts arbitrary JSON, almost-valid orders and bytes that are not
JSON. Whatever it sends: no 5xx; every 4xx is a problem (`application/problem+json`) whose
`code` is one the SPEC lists; anything but a 201 leaves cash, holdings and trades as they
were; and a 201 only ever answers a genuine order. Each example runs in a savepoint that is
rolled back, so examples are independent of each other even though they share one test.
"""

import json
import traceback
from decimal import Decimal, InvalidOperation

import pytest
from django.core.cache import cache
from django.core.signals import got_request_exception
from django.db import transaction
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from market import services
from market.models import Company, Holding, Participant, Transaction

pytestmark = pytest.mark.django_db

URL = "/api/transactions"
PROBLEM = "application/problem+json"
PRICE = Decimal("10.00")
HELD = 100  # ACME shares the team holds before each example
FIELDS = {"ticker", "type", "quantity", "expected_price"}

# SPEC §4: the codes a signed-in team can meet on this endpoint.
TRADE_CODES = {
    "market_closed",
    "insufficient_funds",
    "insufficient_shares",
    "price_changed",
    "company_inactive",
    "participant_frozen",
    "idempotency_key_reused",
    "idempotency_key_in_use",
    "validation_error",
    "parse_error",
    "throttled",
}


def fuzz(max_examples: int) -> settings:
    # pytest-django's `db` is function-scoped: examples share it, and `_exchange` rolls each one back.
    return settings(
        max_examples=max_examples,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow `explain`
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture
def acme(db, team):
    """An open market, ACME at 10.00 (the team holds 100), IDLE inactive."""
    company = services.company_create(by=None, ticker="ACME", name="Acme", current_price=PRICE)
    services.company_create(by=None, ticker="IDLE", name="Idle", current_price=Decimal("5.00"), is_active=False)
    services.market_open(by=None)
    services.trade_execute(participant=team, company=company, side="buy", quantity=HELD)
    return company


@pytest.fixture
def team_client(team):
    """The team's client; a server error comes back as a 500 carrying its traceback, not as an exception."""
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team.user)
    seen: list[str] = []

    def record(sender, **kwargs):
        seen.append(traceback.format_exc())

    got_request_exception.connect(record, weak=False)
    client.server_errors = seen
    yield client
    got_request_exception.disconnect(record)


def _snapshot(team: Participant) -> dict:
    row = Participant.objects.values("cash", "portfolio_value", "trade_count").get(pk=team.pk)
    return {
        **row,
        "holdings": sorted(
            Holding.objects.filter(participant=team).values_list("company__ticker", "quantity", "average_cost")
        ),
        "transactions": Transaction.objects.count(),
        "prices": sorted(Company.objects.values_list("ticker", "current_price", "previous_price")),
    }


def _exchange(client, team: Participant, raw: bytes, headers: dict | None = None):
    """POST `raw`; return the response and the state before and after. Leaves the database as it was."""
    with transaction.atomic():
        cache.clear()  # throttle counters: each example starts with none
        client.server_errors.clear()
        before = _snapshot(team)
        response = client.generic("POST", URL, raw, content_type="application/json", **(headers or {}))
        response.server_error = "".join(client.server_errors)
        after = _snapshot(team)
        transaction.set_rollback(True)
    return response, before, after


def _encode(body) -> bytes:
    # Default json.dumps: NaN/Infinity come out as bare words (not JSON), lone surrogates as \u escapes.
    return json.dumps(body).encode()


def _as_decimal(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _has_unstorable_text(body) -> bool:
    """JSON can escape a lone surrogate ("\\ud800") or a NUL ("\\u0000"): text no database column
    can hold, which the parser refuses as a whole (parse_error); so are NaN and Infinity."""
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return True  # NaN or Infinity: not JSON at all
    if "\\u0000" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def _is_genuine_order(body) -> bool:
    """What a 201 requires of the body the client sent."""
    if not isinstance(body, dict) or not set(body) <= FIELDS or not {"ticker", "type", "quantity"} <= set(body):
        return False
    ticker, side, quantity = body["ticker"], body["type"], body["quantity"]
    if not isinstance(ticker, str) or ticker.strip().upper() != "ACME":
        return False
    if side not in ("buy", "sell"):
        return False
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000_000:
        return False
    expected = body.get("expected_price")
    if expected is None or (isinstance(expected, str) and not expected.strip()):
        return True  # DRF reads a blank string as null for a nullable DecimalField: no price check
    return _as_decimal(expected) == PRICE


def _check_answer(response, body, before: dict, after: dict) -> dict | None:
    """The invariants every answer keeps. Returns the problem for a 4xx."""
    status = response.status_code
    if currently_in_test_context():
        event(f"{status} {response.json().get('code', '') if status != 201 and status < 500 else ''}".strip())
    assert status < 500, f"{status} for {body!r}:\n{getattr(response, 'server_error', '')}"
    assert status in (201, 400, 409, 422, 429), f"{status} for {body!r}: {response.content[:500]!r}"
    if status == 201:
        assert _is_genuine_order(body), f"201 for a body that is not a valid order: {body!r}"
        trade = response.json()["transaction"]
        assert trade["ticker"] == "ACME"
        assert (trade["type"], trade["quantity"]) == (body["type"], body["quantity"])
        assert after["transactions"] == before["transactions"] + 1
        assert after["trade_count"] == before["trade_count"] + 1
        assert after["prices"] == before["prices"]
        return None
    assert after == before, f"{status} for {body!r} changed the team or the market"
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] in TRADE_CODES, problem
    return problem


# Strategies

ORDER_KEYS = sorted(FIELDS)
EXTRA_KEYS = ["price", "participant", "fee", "total", "id", "day", "created_at", "Ticker", "QUANTITY", ""]
EDGE_INTS = [0, -1, 1, 10, 10**9, 10**9 + 1, 10**12, 2**31, 2**63, -(2**63) - 1, 10**40]

# Hypothesis' text leaves out lone surrogates; JSON can carry them ("\ud800"), and NUL, so add both.
NASTY = [
    "\x00",
    "ACME\x00",
    "\ud800",
    "AC\udfffME",
    "buy\ud800",
    "\u202eACME",
    "\uff21\uff23\uff2d\uff25",
    "ACME\u200b",
]
any_text = (
    st.text(max_size=20)
    | st.text(
        st.characters(exclude_categories=[]) | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=8
    )
    | st.sampled_from(NASTY)
)


def texts(max_size: int):
    return any_text.filter(lambda s: len(s) <= max_size)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(EDGE_INTS)
    | st.floats()
    | any_text
    | st.sampled_from(["ACME", "acme", "buy", "sell", "short", "10", "10.00", "", " "])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(ORDER_KEYS + EXTRA_KEYS) | texts(8), children, max_size=5)
    ),
    max_leaves=15,
)


def _often(valid):
    """Three times in four a right value, else anything (a flat one_of would drown it among the scalars)."""
    return st.integers(0, 3).flatmap(lambda n: valid if n else json_values)


# Order-shaped: each value often right and otherwise anything at all,
# now and then a field that no order has. Mostly refused, often traded, refused for every reason.
_order_core = st.fixed_dictionaries(
    {
        "ticker": _often(st.sampled_from(["ACME", "acme", " Acme ", "IDLE", "NOPE"])),
        "type": _often(st.sampled_from(["buy", "sell"])),
        "quantity": _often(st.integers(1, 200) | st.sampled_from(EDGE_INTS)),
    },
    optional={"expected_price": _often(st.sampled_from([None, "10.00", 10, "9.99", "10.01"]))},
)
_with_extra = st.builds(
    lambda order, key, value: {**order, key: value}, _order_core, st.sampled_from(EXTRA_KEYS), scalars
)
order_shaped = st.integers(0, 3).flatmap(lambda n: _order_core if n else _with_extra)

valid_orders = st.fixed_dictionaries(
    {
        "ticker": st.sampled_from(["ACME", "acme", "Acme", " ACME ", "aCmE\t"]),
        "type": st.sampled_from(["buy", "sell"]),
        "quantity": st.integers(1, 20_000) | st.integers(1, HELD * 2),
    },
    optional={"expected_price": st.sampled_from([None, "10.00", "10", 10, 10.0, "10.0", " 10.00 "])},
)

not_a_known_ticker = texts(14).filter(lambda s: s.strip().upper() not in {"ACME", "IDLE"})
WRONG_VALUES = {
    "ticker": st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.lists(st.just("ACME"), max_size=2)
    | st.just({"ticker": "ACME"})
    | st.sampled_from(["", "   ", "NOPE", "ACMEE", "AC ME", "A\x00CME", "ACME" * 3])
    | not_a_known_ticker,
    "type": st.none()
    | st.booleans()
    | st.integers()
    | st.lists(st.just("buy"), max_size=2)
    | st.sampled_from(["short", "BUY", "Sell", " buy", "buy ", "", "b", "cover"])
    | texts(8).filter(lambda s: s not in ("buy", "sell")),
    "quantity": st.sampled_from([0, -1, 1.5, 1.0, "10", "1", "", True, False, None, [], {}, 10**12, 10**9 + 1])
    | st.integers(max_value=0)
    | st.integers(min_value=10**9 + 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts(6),
    "expected_price": st.sampled_from(
        ["abc", True, False, -1, 0, "0", "0.001", "10.001", [], {}, "NaN", "Infinity", "1e400", 10**20, "ten"]
    ),
}


@st.composite
def almost_valid_orders(draw) -> tuple[dict, str]:
    """A valid order with exactly one thing wrong; returns it and the field the error names."""
    order = dict(draw(valid_orders))
    fault = draw(st.sampled_from(["value", "value", "extra", "missing"]))
    if fault == "value":
        field = draw(st.sampled_from(sorted(WRONG_VALUES)))
        order[field] = draw(WRONG_VALUES[field])
    elif fault == "extra":
        field = draw(st.sampled_from(EXTRA_KEYS) | texts(10).filter(lambda k: k not in FIELDS))
        order[field] = draw(scalars)
    else:
        field = draw(st.sampled_from(["ticker", "type", "quantity"]))
        del order[field]
    return order, field


not_json = st.binary(max_size=64) | st.sampled_from(
    [
        b"{",
        b'{"ticker": "ACME", "type": "buy", "quantity": 1',
        b'{"ticker": "ACME", "type": "buy", "quantity": NaN}',
        b'{"ticker": "ACME", "type": "buy", "quantity": Infinity}',
        b"{'ticker': 'ACME'}",
        b'{"ticker": "ACME",}',
        b"\xff\xfe{}",
        b"\xef\xbb\xbf{}",
        b'{"ticker": "\xc3\x28"}',
        b"ticker=ACME&type=buy&quantity=1",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"quantity": ' + b"9" * 5000 + b"}",
        b"1" * 5000,
    ]
)
idempotency_keys = st.none() | st.none() | st.just("fuzz-key-1") | st.text(max_size=300)


# Property tests


@fuzz(250)
@given(body=st.one_of(json_values, order_shaped, order_shaped))
def test_arbitrary_json_is_never_a_server_error_nor_a_stray_trade(team_client, team, acme, body):
    response, before, after = _exchange(team_client, team, _encode(body))
    _check_answer(response, body, before, after)


@fuzz(200)
@given(case=almost_valid_orders(), key=idempotency_keys)
def test_an_almost_valid_order_is_refused_naming_the_bad_field(team_client, team, acme, case, key):
    body, field = case
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    response, before, after = _exchange(team_client, team, _encode(body), headers)

    problem = _check_answer(response, body, before, after)
    assert response.status_code == 400, (body, response.content)
    if problem["code"] == "parse_error":
        assert _has_unstorable_text(body), (body, problem)
        return
    assert problem["code"] == "validation_error"
    assert field in problem["errors"] or "Idempotency-Key" in problem["errors"], (body, problem)


@fuzz(100)
@given(body=valid_orders)
def test_a_valid_order_trades_or_is_refused_for_cash_or_shares(team_client, team, acme, body):
    response, before, after = _exchange(team_client, team, _encode(body))

    problem = _check_answer(response, body, before, after)
    quantity = body["quantity"]
    if body["type"] == "buy":
        affordable = quantity * PRICE <= before["cash"]
        assert (response.status_code, problem and problem["code"]) == (
            (201, None) if affordable else (409, "insufficient_funds")
        ), response.content
        if affordable:
            assert after["cash"] == before["cash"] - quantity * PRICE
    else:
        held = quantity <= HELD
        assert (response.status_code, problem and problem["code"]) == (
            (201, None) if held else (409, "insufficient_shares")
        ), response.content
        if held:
            assert after["cash"] == before["cash"] + quantity * PRICE


@fuzz(150)
@given(raw=not_json)
def test_bytes_that_are_not_json_are_a_parse_error(team_client, team, acme, raw):
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        parses = False
    else:
        parses = True
    response, before, after = _exchange(team_client, team, raw)

    problem = _check_answer(response, raw if not parses else body, before, after)
    if not parses:
        expected = "validation_error" if raw == b"" else "parse_error"  # no body at all: missing fields
        assert problem is not None and problem["code"] == expected, (raw[:80], response.content[:300])


# The list, one by one

BASE = {"ticker": "ACME", "type": "buy", "quantity": 10}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param({**BASE, "quantity": 0}, "quantity", id="quantity-0"),
        pytest.param({**BASE, "quantity": -1}, "quantity", id="quantity-minus-1"),
        pytest.param({**BASE, "quantity": 1.5}, "quantity", id="quantity-1.5"),
        pytest.param({**BASE, "quantity": "10"}, "quantity", id="quantity-string-10"),
        pytest.param({**BASE, "quantity": 10**12}, "quantity", id="quantity-10e12"),
        pytest.param({**BASE, "quantity": True}, "quantity", id="quantity-true"),
        pytest.param({"type": "buy", "quantity": 10}, "ticker", id="missing-ticker"),
        pytest.param({**BASE, "ticker": "NOPE"}, "ticker", id="unknown-ticker"),
        pytest.param({**BASE, "ticker": ""}, "ticker", id="empty-ticker"),
        pytest.param({**BASE, "type": "short"}, "type", id="type-short"),
        pytest.param(
            {**BASE, "participant": "00000000-0000-0000-0000-000000000000"}, "participant", id="extra-participant"
        ),
        pytest.param({**BASE, "fee": "0"}, "fee", id="extra-fee"),
        pytest.param([BASE], "non_field_errors", id="list-body"),
        pytest.param(b"", "ticker", id="empty-body"),
        pytest.param(b"{}", "ticker", id="empty-object"),
        pytest.param(b"null", "non_field_errors", id="null-body"),
    ],
)
def test_malformed_orders_are_validation_errors(team_client, team, acme, raw, field):
    response, before, after = _exchange(team_client, team, raw if isinstance(raw, bytes) else _encode(raw))

    problem = _check_answer(response, raw, before, after)
    assert response.status_code == 400
    assert problem["code"] == "validation_error"
    assert field in problem["errors"], problem


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # JSON may escape a lone surrogate; Python reads it into a str that UTF-8 cannot encode.
        pytest.param(b'{"ticker": "ACME", "type": "\\ud800", "quantity": 10}', "type", id="type"),
        pytest.param(b'{"ticker": "ACME", "type": "buy", "quantity": 10, "\\ud800": 1}', "\ud800", id="unknown-key"),
        pytest.param(b'{"ticker": "AC\\udfffME", "type": "buy", "quantity": 10}', "ticker", id="ticker"),
        pytest.param(b'{"ticker": "ACME", "type": "buy", "quantity": "\\ud800"}', "quantity", id="quantity"),
        pytest.param(
            b'{"ticker": "ACME", "type": "buy", "quantity": 10, "expected_price": "\\ud800"}',
            "expected_price",
            id="expected-price",
        ),
    ],
)
def test_a_lone_surrogate_is_refused(team_client, team, acme, raw, field):
    response, before, after = _exchange(team_client, team, raw)

    problem = _check_answer(response, raw, before, after)
    assert response.status_code == 400
    assert problem["code"] in ("validation_error", "parse_error"), problem  # either is fair
    if problem["code"] == "validation_error":
        assert field in problem["errors"], problem


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"ticker": "ACME", "type": "buy", "quantity": 10', id="truncated"),
        pytest.param(b"{'ticker': 'ACME', 'type': 'buy', 'quantity': 10}", id="single-quotes"),
        pytest.param(b'{"ticker": "ACME", "type": "buy", "quantity": NaN}', id="nan"),
        pytest.param(b"\xff\xfe\x00{", id="not-utf8"),
        pytest.param(b"[" * 100_000, id="deep-nesting"),
    ],
)
def test_malformed_json_is_a_parse_error(team_client, team, acme, raw):
    response, before, after = _exchange(team_client, team, raw)

    problem = _check_answer(response, raw, before, after)
    assert (response.status_code, problem["code"]) == (400, "parse_error")


def test_a_client_sent_price_never_sets_the_price(team_client, team, acme):
    body = {**BASE, "price": "0.01"}
    response, before, after = _exchange(team_client, team, _encode(body))

    problem = _check_answer(response, body, before, after)
    assert (response.status_code, problem["code"]) == (400, "validation_error")
    assert "price" in problem["errors"]
    acme.refresh_from_db()
    assert acme.current_price == PRICE
    assert not Transaction.objects.filter(price=Decimal("0.01")).exists()


def test_the_fixture_market_takes_a_plain_order(team_client, team, acme):
    response, before, after = _exchange(team_client, team, _encode(BASE))

    _check_answer(response, BASE, before, after)
    assert response.status_code == 201
    assert after["cash"] == before["cash"] - 10 * PRICE
