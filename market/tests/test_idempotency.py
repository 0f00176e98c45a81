from decimal import Decimal

import pytest

from market.models import IdempotencyRecord, Transaction
from market.tests.helpers import assert_problem, buy, state

pytestmark = pytest.mark.django_db


def test_a_repeat_replays_the_first_answer_and_trades_once(team_api, team, company, open_market):
    first = buy(team_api, quantity=4, HTTP_IDEMPOTENCY_KEY="click-17")
    again = buy(team_api, quantity=4, HTTP_IDEMPOTENCY_KEY="click-17")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Transaction.objects.get().idempotency_key == "click-17"
    team.refresh_from_db()
    assert team.cash == Decimal("99960.00")


def test_the_same_body_with_keys_in_another_order_is_the_same_request(team_api, company, open_market):
    assert buy(team_api, quantity=1, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    shuffled = {"quantity": 1, "type": "buy", "ticker": "ACME"}
    again = team_api.post("/api/transactions", shuffled, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1


def test_a_refusal_is_replayed_too(team_api, team, company, open_market):
    first = buy(team_api, quantity=10**6, HTTP_IDEMPOTENCY_KEY="big")
    again = buy(team_api, quantity=10**6, HTTP_IDEMPOTENCY_KEY="big")

    assert_problem(first, 409, "insufficient_funds")
    assert_problem(again, 409, "insufficient_funds")
    assert again["Idempotent-Replayed"] == "true"


def test_a_new_key_trades_again(team_api, company, open_market):
    buy(team_api, HTTP_IDEMPOTENCY_KEY="a")
    buy(team_api, HTTP_IDEMPOTENCY_KEY="b")
    assert Transaction.objects.count() == 2


def test_keys_belong_to_one_team(team_api, team, other_team, company, open_market):
    mine = buy(team_api, HTTP_IDEMPOTENCY_KEY="shared")
    team_api.force_authenticate(other_team.user)
    theirs = buy(team_api, HTTP_IDEMPOTENCY_KEY="shared")

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["transaction"]["id"] != mine.json()["transaction"]["id"]


def test_invalid_input_is_not_remembered(team_api, team, company, open_market):
    assert_problem(buy(team_api, quantity=0, HTTP_IDEMPOTENCY_KEY="fix-me"), 400, "validation_error")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_malformed_keys_are_refused(team_api, team, company, open_market, key):
    before = state(team)
    body = assert_problem(buy(team_api, HTTP_IDEMPOTENCY_KEY=key), 400, "validation_error")
    assert "Idempotency-Key" in body["errors"]
    assert state(team) == before


def test_a_key_of_255_characters_is_fine(team_api, company, open_market):
    assert buy(team_api, HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 201
