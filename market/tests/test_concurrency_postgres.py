"""Real concurrency on PostgreSQL: many clients hit the HTTP API at once and the ledger stays exact.

Every request runs in its own thread with its own client and database connection; the threads
wait at a barrier so they start together, and close their connections when done.
"""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from market.models import Company, DailyValue, EventSettings, Holding, Participant, TradingDay, Transaction
from market.services import company_create, market_open, trade_execute
from market.throttles import TradeThrottle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_trade_throttle(monkeypatch):
    # DRF reads DEFAULT_THROTTLE_RATES once, at class definition: set the rate on the class.
    monkeypatch.setattr(TradeThrottle, "rate", "1000000/min", raising=False)


@pytest.fixture
def organiser(db) -> User:
    return User.objects.create_superuser(email="bell@event.test", password="organiser-password-1")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: str | None

    @property
    def code(self) -> str | None:
        return self.body.get("code")


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def client(token: str) -> APIClient:
    # A server error must come back as a 500 answer, not as an exception in the thread.
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def answer(response) -> Answer:
    body = json.loads(response.content) if response.content else {}
    return Answer(response.status_code, body, response.headers.get("Idempotent-Replayed"))


def trade(token: str, side: str, ticker: str = "ACME", quantity: int = 1, key: str | None = None) -> Answer:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"ticker": ticker, "type": side, "quantity": quantity}
    return answer(client(token).post("/api/transactions", body, format="json", **headers))


def together(jobs: list[Callable[[], object]]) -> list:
    """Run each job in its own thread, all released at once; results in job order."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> object:
        try:
            barrier.wait(timeout=30)
            return job()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def someone_waits_for_a_lock(timeout: float = 10) -> bool:
    """True as soon as a session on this test database is blocked on a lock (the organiser's, here)."""
    give_up = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < give_up:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


def fees(buy: str = "0", sell: str = "0") -> None:
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(buy_fee_rate=Decimal(buy), sell_fee_rate=Decimal(sell))


def acme(price: str = "10.00") -> Company:
    return company_create(by=None, ticker="ACME", name="Acme", current_price=Decimal(price))


def holding(team: Participant, company: Company) -> int:
    row = Holding.objects.filter(participant=team, company=company).first()
    return row.quantity if row else 0


def value_from_rows(team: Participant) -> Decimal:
    """Cash plus every holding at its company's current price, straight from the tables."""
    team.refresh_from_db()
    held = sum(
        (
            h.quantity * h.company.current_price
            for h in Holding.objects.filter(participant=team).select_related("company")
        ),
        Decimal("0.00"),
    )
    return team.cash + held


# One team, one burst


def test_forty_concurrent_one_share_buys_fill_only_the_ten_the_cash_covers(make_team):
    company = acme("10.00")
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("100.00"))
    outsider = make_team("Bear Necessities", starting_cash=Decimal("100.00"))
    token = token_for(team.user)

    answers = together([lambda: trade(token, "buy")] * 40)

    assert Counter(a.status for a in answers) == {201: 10, 409: 30}
    assert {a.code for a in answers if a.status == 409} == {"insufficient_funds"}
    team.refresh_from_db()
    assert team.cash == Decimal("0.00")
    assert holding(team, company) == 10
    assert Transaction.objects.filter(participant=team).count() == 10
    assert team.trade_count == 10
    assert team.portfolio_value == value_from_rows(team) == Decimal("100.00")
    # Every filled answer reports a portfolio that was true when it was sent.
    assert sorted(Decimal(a.body["portfolio"]["cash"]) for a in answers if a.status == 201) == [
        Decimal(10 * n) for n in range(10)
    ]
    outsider.refresh_from_db()
    assert (outsider.cash, holding(outsider, company)) == (Decimal("100.00"), 0)


def test_forty_concurrent_one_share_sells_fill_only_the_ten_shares_held(make_team):
    company = acme("10.00")
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("100.00"))
    trade_execute(participant=team, company=company, side="buy", quantity=10)
    fees(sell="0.0025")  # 10.00 × 0.0025 = 0.025, half-up 0.03 a sale
    token = token_for(team.user)

    answers = together([lambda: trade(token, "sell")] * 40)

    assert Counter(a.status for a in answers) == {201: 10, 409: 30}
    assert {a.code for a in answers if a.status == 409} == {"insufficient_shares"}
    team.refresh_from_db()
    assert holding(team, company) == 0
    assert team.cash == 10 * (Decimal("10.00") - Decimal("0.03")) == Decimal("99.70")
    assert Transaction.objects.filter(participant=team, type="sell").count() == 10
    assert team.portfolio_value == value_from_rows(team) == Decimal("99.70")


def test_twenty_concurrent_copies_of_one_idempotent_request_trade_once_and_all_get_its_answer(make_team):
    company = acme("10.00")
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("1000.00"))
    token = token_for(team.user)

    answers = together([lambda: trade(token, "buy", quantity=3, key="order-7f3a")] * 20)

    assert [a.status for a in answers] == [201] * 20
    assert len({a.body["transaction"]["id"] for a in answers}) == 1
    assert all(a.body == answers[0].body for a in answers)
    assert sorted(a.replayed or "" for a in answers) == [""] + ["true"] * 19
    trade_row = Transaction.objects.get(participant=team)
    assert str(trade_row.id) == answers[0].body["transaction"]["id"]
    team.refresh_from_db()
    assert team.cash == Decimal("970.00")
    assert holding(team, company) == 3


# Two teams, one hot stock


HOLD_OPEN = 1.5  # seconds the first team's trade keeps its transaction open


def test_a_teams_trade_does_not_wait_for_another_teams_trade_on_the_same_company(make_team):
    company = acme("10.00")
    market_open(by=None)
    first = make_team("Bull Riders", starting_cash=Decimal("1000.00"))
    second = make_team("Bear Necessities", starting_cash=Decimal("1000.00"))
    for team in (first, second):  # both already hold ACME: the usual case in a burst
        trade_execute(participant=team, company=company, side="buy", quantity=1)
    token = token_for(second.user)
    first_is_trading = threading.Event()

    def slow_trade() -> None:
        with transaction.atomic():
            trade_execute(participant=first, company=company, side="buy", quantity=1)
            first_is_trading.set()
            time.sleep(HOLD_OPEN)  # a slow request: its transaction, and its locks, stay open

    def quick_trade() -> tuple[Answer, float]:
        assert first_is_trading.wait(timeout=10)
        began = time.monotonic()
        result = trade(token, "buy")
        return result, time.monotonic() - began

    _, (quick, seconds) = together([slow_trade, quick_trade])

    assert quick.status == 201
    # Trades are serialised per team (SPEC §3), not across teams on a hot stock.
    assert seconds < HOLD_OPEN / 2, f"the second team's trade waited {seconds:.2f} s for the first team's"
    assert holding(second, company) == 2
    assert holding(first, company) == 2


def test_a_price_change_during_a_teams_first_purchase_revalues_that_team_too(make_team, organiser):
    company = acme("10.00")
    market_open(by=None)
    team = make_team("Bull Riders", starting_cash=Decimal("1000.00"))
    admin_token = token_for(organiser)
    buying = threading.Event()

    def slow_first_purchase() -> None:
        with transaction.atomic():
            trade_execute(participant=team, company=company, side="buy", quantity=10)  # at 10.00
            buying.set()
            time.sleep(HOLD_OPEN)  # not yet committed when the organiser changes the price

    def price_change() -> Answer:
        assert buying.wait(timeout=10)
        patch = client(admin_token).patch(
            f"/api/admin/companies/{company.pk}", {"current_price": "20.00"}, format="json"
        )
        return answer(patch)

    _, change = together([slow_first_purchase, price_change])

    assert change.status == 200
    team.refresh_from_db()
    assert (team.cash, holding(team, company)) == (Decimal("900.00"), 10)
    assert team.portfolio_value == Decimal("900.00") + 10 * Decimal("20.00")


# The organiser is not overtaken: a request sent after the organiser's waits for it


def slow_trade_then(make_team, organiser, organiser_acts: Callable[[APIClient, Company], object]) -> tuple:
    """One team's trade stays open; the organiser acts (and waits for it); another team trades meanwhile."""
    company = acme("10.00")
    market_open(by=None)
    slow = make_team("Bull Riders", starting_cash=Decimal("1000.00"))
    late = make_team("Bear Necessities", starting_cash=Decimal("1000.00"))
    admin_token, late_token = token_for(organiser), token_for(late.user)
    slow_is_trading, organiser_has_acted = threading.Event(), threading.Event()

    def slow_trade() -> None:
        with transaction.atomic():
            trade_execute(participant=slow, company=company, side="buy", quantity=1)
            slow_is_trading.set()
            time.sleep(HOLD_OPEN)

    def organiser_request() -> Answer:
        assert slow_is_trading.wait(timeout=10)
        organiser_has_acted.set()
        return answer(organiser_acts(client(admin_token), company))

    def late_trade() -> Answer:
        assert organiser_has_acted.wait(timeout=10)
        assert someone_waits_for_a_lock()  # the organiser's request, behind the slow trade
        return trade(late_token, "buy")

    _, organisers, lates = together([slow_trade, organiser_request, late_trade])
    return late, organisers, lates


def test_a_trade_sent_after_the_closing_bell_rang_is_refused_while_earlier_trades_finish(make_team, organiser):
    late, close, late_answer = slow_trade_then(
        make_team, organiser, lambda admin, _: admin.post("/api/admin/market/close")
    )

    assert close.status == 200
    # Had it gone through, trades arriving one after another could hold the bell off forever.
    assert (late_answer.status, late_answer.code) == (409, "market_closed"), late_answer.body
    assert not Transaction.objects.filter(participant=late).exists()


def test_a_trade_sent_after_a_price_change_fills_at_the_new_price(make_team, organiser):
    _, change, late_answer = slow_trade_then(
        make_team,
        organiser,
        lambda admin, company: admin.patch(
            f"/api/admin/companies/{company.pk}", {"current_price": "11.00"}, format="json"
        ),
    )

    assert change.status == 200
    # Had it filled at the old price, trades arriving one after another could hold the change off forever.
    assert late_answer.status == 201, late_answer.body
    assert late_answer.body["transaction"]["price"] == "11.00"


# Many teams while the organiser moves the price


# A burst: teams trade one share after another; the organiser acts a moment in.
BURST_TEAMS = 16  # with the organiser and the test itself: within the pool's 20 connections
ORGANISER_ACTS_AFTER = 0.15  # seconds into the burst
BUYERS_GIVE_UP_AFTER = 4.0  # seconds: what the organiser did not get through by then waited for the burst

TEAMS = 24
BUYS_PER_TEAM = 3
PRICES = ["10.50", "11.25", "9.80", "12.00", "10.10", "13.40", "9.95", "11.70"]


def buying_burst_with_price_changes(make_team, organiser) -> tuple[list[Participant], list[Answer], list[Answer]]:
    """Teams buying ACME (each its first shares, then more) while the organiser changes its price."""
    company = acme("10.00")
    market_open(by=None)
    teams = [make_team(f"Team {n:02}", starting_cash=Decimal("10000.00")) for n in range(TEAMS)]
    tokens = [token_for(team.user) for team in teams]
    admin_token = token_for(organiser)

    def buyer(token: str) -> Callable[[], list[Answer]]:
        return lambda: [trade(token, "buy", quantity=2) for _ in range(BUYS_PER_TEAM)]

    def price_changes() -> list[Answer]:
        admin = client(admin_token)
        changes = []
        for price in PRICES:
            response = admin.patch(f"/api/admin/companies/{company.pk}", {"current_price": price}, format="json")
            changes.append(answer(response))
            time.sleep(0.005)
        return changes

    *buys, changes = together([*(buyer(token) for token in tokens), price_changes])
    return teams, [a for team_answers in buys for a in team_answers], changes


def test_price_changes_during_a_buying_burst_answer_no_server_error(make_team, organiser):
    _, buys, changes = buying_burst_with_price_changes(make_team, organiser)

    assert [a.status for a in changes] == [200] * len(PRICES), [a.body for a in changes if a.status != 200]
    assert Counter(a.status for a in buys) == {201: TEAMS * BUYS_PER_TEAM}, [a.body for a in buys if a.status != 201]
    assert Company.objects.get(ticker="ACME").current_price == Decimal(PRICES[-1])


def test_every_portfolio_value_matches_current_prices_after_a_buying_burst_with_price_changes(make_team, organiser):
    teams, buys, changes = buying_burst_with_price_changes(make_team, organiser)

    # Server errors are the test above's business; here the value kept must match what happened.
    assert any(a.status == 201 for a in buys)
    assert any(a.status == 200 for a in changes)
    price = Company.objects.get(ticker="ACME").current_price
    stale = {}
    for team in teams:
        team.refresh_from_db()
        held = Transaction.objects.filter(participant=team).aggregate(n=Sum("quantity"))["n"] or 0
        expected = team.cash + held * price
        assert expected == value_from_rows(team)
        if team.portfolio_value != expected:
            stale[team.display_name] = (str(team.portfolio_value), str(expected))
    assert stale == {}, f"portfolio_value (kept, recomputed) is stale for {len(stale)} of {TEAMS} teams: {stale}"


NEW_PRICE = "11.00"


def test_a_price_change_takes_effect_during_a_burst_of_trades_on_that_company(make_team, organiser):
    company = acme("10.00")
    market_open(by=None)
    teams = [make_team(f"Team {n:02}", starting_cash=Decimal("100000.00")) for n in range(BURST_TEAMS)]
    tokens = [token_for(team.user) for team in teams]
    admin_token = token_for(organiser)

    def buyer(token: str) -> Callable[[], list[Answer]]:
        def run() -> list[Answer]:
            answers = []
            give_up = time.monotonic() + BUYERS_GIVE_UP_AFTER
            while time.monotonic() < give_up:
                answers.append(trade(token, "buy"))
            return answers

        return run

    def price_change() -> tuple[Answer, float]:
        time.sleep(ORGANISER_ACTS_AFTER)
        began = time.monotonic()
        patch = client(admin_token).patch(
            f"/api/admin/companies/{company.pk}", {"current_price": NEW_PRICE}, format="json"
        )
        return answer(patch), time.monotonic() - began

    *answers, (change, seconds) = together([*(buyer(token) for token in tokens), price_change])

    assert change.status == 200
    assert all(a.status == 201 for team_answers in answers for a in team_answers)
    # Teams that keep trading see the organiser's price while they trade, not once they stop.
    at_new_price = Transaction.objects.filter(price=Decimal(NEW_PRICE)).count()
    assert at_new_price > 0, f"the price change took {seconds:.2f} s: it waited for the burst to end"


# The closing bell in the middle of a burst


@dataclass(frozen=True)
class Burst:
    teams: list[Participant]
    answers: list[list[Answer]]  # per team, in the order sent
    close: Answer
    bell_seconds: float  # how long the end bell took to answer


def closing_bell_during_a_burst(make_team, organiser) -> Burst:
    """Teams buy one share after another until refused; the organiser rings the end bell meanwhile."""
    acme("10.00")
    market_open(by=None)
    teams = [make_team(f"Team {n:02}", starting_cash=Decimal("100000.00")) for n in range(BURST_TEAMS)]
    tokens = [token_for(team.user) for team in teams]
    admin_token = token_for(organiser)

    def buyer(token: str) -> Callable[[], list[Answer]]:
        def run() -> list[Answer]:
            answers = []
            give_up = time.monotonic() + BUYERS_GIVE_UP_AFTER
            while time.monotonic() < give_up:
                answers.append(trade(token, "buy"))
                if answers[-1].status != 201:
                    break
            return answers

        return run

    def bell() -> tuple[Answer, float]:
        time.sleep(ORGANISER_ACTS_AFTER)
        # On a loaded machine the buyers may not have started yet: the bell rings during the
        # burst, so wait until trades are going through.
        deadline = time.monotonic() + 20
        while Transaction.objects.count() < BURST_TEAMS and time.monotonic() < deadline:
            time.sleep(0.02)
        began = time.monotonic()
        close = answer(client(admin_token).post("/api/admin/market/close"))
        return close, time.monotonic() - began

    *answers, (close, seconds) = together([*(buyer(token) for token in tokens), bell])
    return Burst(teams, answers, close, seconds)


def test_the_closing_bell_stops_a_burst_of_trades_at_once(make_team, organiser):
    burst = closing_bell_during_a_burst(make_team, organiser)

    assert burst.close.status == 200
    assert burst.close.body["status"] == "closed"
    # Every team traded until the bell, then was refused because the market closed.
    last = Counter((a[-1].status, a[-1].code) for a in burst.answers)
    assert last == {(409, "market_closed"): BURST_TEAMS}, (
        f"the bell took {burst.bell_seconds:.2f} s; last answers {last}"
    )
    assert all({a.status for a in team_answers[:-1]} <= {201} for team_answers in burst.answers)


def test_no_trade_is_recorded_after_the_closing_bell_that_rang_during_a_burst(make_team, organiser):
    burst = closing_bell_during_a_burst(make_team, organiser)

    assert burst.close.status == 200
    for team, team_answers in zip(burst.teams, burst.answers, strict=True):
        assert all(a.status < 500 for a in team_answers)
        filled = sum(a.status == 201 for a in team_answers)
        assert Transaction.objects.filter(participant=team).count() == filled
    day = TradingDay.objects.get()
    assert day.number == 1
    assert Transaction.objects.exists()
    assert set(Transaction.objects.values_list("day", flat=True)) == {1}
    late = list(
        Transaction.objects.filter(created_at__gt=day.closed_at)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    assert late == [], (
        f"{len(late)} trades recorded after closed_at {day.closed_at.isoformat()}, "
        f"from {late[0].isoformat()} to {late[-1].isoformat()}"
    )


def test_values_kept_at_close_equal_each_teams_value_when_the_bell_rang_during_a_burst(make_team, organiser):
    burst = closing_bell_during_a_burst(make_team, organiser)

    assert burst.close.status == 200
    kept = {v.participant_id: v for v in DailyValue.objects.filter(day=1)}
    assert set(kept) == {team.pk for team in burst.teams}
    for team in burst.teams:
        team.refresh_from_db()
        assert team.portfolio_value == value_from_rows(team)
        assert (kept[team.pk].cash, kept[team.pk].value) == (team.cash, team.portfolio_value)
