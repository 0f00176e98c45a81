"""The benchmark's database: created afresh, filled quickly, and checked after the load."""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import psycopg
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count, Q, Sum
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from market import services
from market.models import Company, EventSettings, Holding, Order, Participant, TradingDay, Transaction
from market.money import money

STARTING_CASH = Decimal("100000.00")
TABLES = (
    "users, companies, participants, holdings, transactions, price_history, trading_days, daily_values, "
    "audit_log, cash_adjustments, idempotency_keys, cues, news, authtoken_token, event_settings, django_session, "
    "orders, jobs, django_tasks_database_dbtaskresult"
)


def create_database() -> None:
    """Drop and create the benchmark's own database, then migrate it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("The benchmark measures PostgreSQL: set BENCH_DATABASE_URL to a postgres:// URL.")
    connections.close_all()
    admin = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    admin.autocommit = True
    admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    admin.close()
    call_command("migrate", verbosity=0)


def reset() -> None:
    """An empty event: no teams, companies, days or trades; the rules the scenarios assume."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    EventSettings.load()
    EventSettings.objects.filter(pk=1).update(
        starting_cash=STARTING_CASH, lot_size=1, buy_fee_rate=Decimal("0.0015"), sell_fee_rate=Decimal("0.0025")
    )


def admin_token() -> str:
    user = User.objects.create_user(email="organiser@bench.example", password=None, role=Role.ADMIN)
    return Token.objects.create(user=user).key


def sessions(users: list[User]) -> list[str]:
    """A signed-in browser session for each user (their pages' cookie), written in one go."""
    backend = "django.contrib.auth.backends.ModelBackend"
    made = []
    for user in users:
        store = SessionStore()
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()}
        made.append(
            Session(
                session_key=store._get_new_session_key(),
                session_data=store.encode(data),
                expire_date=timezone.now() + timedelta(days=1),
            )
        )
    Session.objects.bulk_create(made, batch_size=2000)
    return [session.session_key for session in made]


def teams(count: int, *, prefix: str = "team") -> list[tuple[Participant, str]]:
    """`count` teams with the starting cash and an API token each (no password: it is not needed)."""
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{i}@bench.example", password=unusable, role=Role.PARTICIPANT) for i in range(count)],
        batch_size=2000,
    )
    participants = Participant.objects.bulk_create(
        [
            Participant(
                user=user,
                display_name=f"{prefix.title()} {i:05d}",
                cash=STARTING_CASH,
                starting_cash=STARTING_CASH,
                portfolio_value=STARTING_CASH,
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    tokens = Token.objects.bulk_create([Token(key=Token.generate_key(), user=user) for user in users], batch_size=2000)
    return [(team, token.key) for team, token in zip(participants, tokens, strict=True)]


def companies(count: int) -> list[Company]:
    made = []
    for i in range(count):
        price = Decimal(random.Random(i).randrange(500, 50000)) / 100
        made.append(services.company_create(by=None, ticker=f"CO{i:02d}", name=f"Company {i}", current_price=price))
    return made


def open_market() -> None:
    services.market_open(by=None)


def history(participants: list[Participant], stocks: list[Company], per_team: int) -> int:
    """`per_team` filled buys for each team, with the holdings and cash they leave: a busy event's
    ledger, written directly (the load scenarios are what exercise the trading path)."""
    day = TradingDay.objects.get(opened_at__isnull=False, closed_at__isnull=True).number
    rows, holdings, written = [], [], 0
    for t, team in enumerate(participants):
        held: dict = {}
        spent = Decimal("0")
        for n in range(per_team):
            stock = stocks[(t * 7 + n * 3) % len(stocks)]
            quantity = 1 + (t + n) % 3
            fee = money(stock.current_price * quantity * Decimal("0.0015"))
            rows.append(
                Transaction(
                    participant=team,
                    company=stock,
                    type="buy",
                    quantity=quantity,
                    price=stock.current_price,
                    fee=fee,
                    day=day,
                )
            )
            spent += stock.current_price * quantity + fee
            count, cost = held.get(stock, (0, Decimal("0")))
            held[stock] = (count + quantity, cost + stock.current_price * quantity)
        for stock, (count, cost) in held.items():
            holdings.append(Holding(participant=team, company=stock, quantity=count, average_cost=cost / count))
        team.cash = STARTING_CASH - spent
        team.trade_count = per_team
        if len(rows) >= 20000:
            written += len(Transaction.objects.bulk_create(rows, batch_size=5000))
            rows = []
    written += len(Transaction.objects.bulk_create(rows, batch_size=5000))
    Holding.objects.bulk_create(holdings, batch_size=5000)
    Participant.objects.bulk_update(participants, ["cash", "trade_count"], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    services.revalue(Participant.objects.all())
    return written


@dataclass
class Ledger:
    teams: int
    trades: int
    wrong: list[str]


def check_ledger(expected_trades: dict[str, int] | None = None) -> Ledger:
    """Every team's cash is its starting cash less its buys (with fees) plus its sales (less fees);
    every holding is what its trades leave; what open orders hold is exact (`check_reservations`);
    nothing is negative; and, when given, each team has exactly the trades its client was told
    were filled."""
    wrong = []
    standing = Q(transactions__reversed_at__isnull=True)
    teams = Participant.objects.annotate(
        bought=Sum("transactions__total", filter=standing & Q(transactions__type="buy"), default=Decimal("0")),
        bought_fees=Sum("transactions__fee", filter=standing & Q(transactions__type="buy"), default=Decimal("0")),
        sold=Sum("transactions__total", filter=standing & Q(transactions__type="sell"), default=Decimal("0")),
        sold_fees=Sum("transactions__fee", filter=standing & Q(transactions__type="sell"), default=Decimal("0")),
    ).select_related("user")
    for team in teams:
        cash = team.starting_cash - team.bought - team.bought_fees + team.sold - team.sold_fees
        if cash != team.cash or team.cash < 0:
            wrong.append(f"{team.display_name}: cash {team.cash}, trades say {cash}")
    held = {(h.participant_id, h.company_id): h.quantity for h in Holding.objects.all()}
    traded: dict = {}
    for participant_id, company_id, side, quantity in Transaction.objects.filter(reversed_at__isnull=True).values_list(
        "participant_id", "company_id", "type", "quantity"
    ):
        key = (participant_id, company_id)
        traded[key] = traded.get(key, 0) + (quantity if side == "buy" else -quantity)
    for key in set(held) | set(traded):
        if held.get(key, 0) != traded.get(key, 0) or held.get(key, 0) < 0:
            wrong.append(f"holding {key}: {held.get(key, 0)}, trades say {traded.get(key, 0)}")
    if expected_trades is not None:
        counts = dict(Participant.objects.values_list("user__auth_token__key", "trade_count"))
        rows = dict(
            Transaction.objects.values("participant__user__auth_token__key")
            .annotate(n=Count("pk"))
            .values_list("participant__user__auth_token__key", "n")
        )
        for token, filled in expected_trades.items():
            if rows.get(token, 0) != filled or counts.get(token) != filled:
                wrong.append(f"team {token[:6]}…: told {filled} filled, ledger has {rows.get(token, 0)}")
    wrong += check_reservations()
    return Ledger(teams=len(teams), trades=Transaction.objects.count(), wrong=wrong)


def check_reservations() -> list[str]:
    """What waiting orders hold (SPEC §4b), counted again from the orders: each open buy holds its
    quantity × its price with the buy fee, and nothing else holds cash; a team's reserved cash is
    the sum of its open buys', within its cash; a holding's reserved shares the sum of its open
    sells', within its shares."""
    wrong = []
    rate = EventSettings.objects.values_list("buy_fee_rate", flat=True).get(pk=1)
    held_cash: dict = {}
    held_shares: dict = {}
    for pk, team, company, side, status, quantity, price, reserved in Order.objects.values_list(
        "pk", "participant_id", "company_id", "type", "status", "quantity", "price", "reserved"
    ):
        total = price * quantity
        should = total + money(total * rate) if status == "open" and side == "buy" else Decimal("0")
        if reserved != should:
            wrong.append(f"order {pk} ({status} {side}): holds {reserved}, should hold {should}")
        held_cash[team] = held_cash.get(team, Decimal("0")) + should
        if status == "open" and side == "sell":
            held_shares[(team, company)] = held_shares.get((team, company), 0) + quantity
    for pk, name, cash, reserved in Participant.objects.values_list("pk", "display_name", "cash", "reserved_cash"):
        if reserved != held_cash.get(pk, Decimal("0")) or not 0 <= reserved <= cash:
            wrong.append(f"{name}: reserved cash {reserved} of {cash}, open buys hold {held_cash.get(pk, 0)}")
    for team, company, quantity, reserved in Holding.objects.values_list(
        "participant_id", "company_id", "quantity", "reserved_quantity"
    ):
        should = held_shares.pop((team, company), 0)
        if reserved != should or not 0 <= reserved <= quantity:
            wrong.append(f"holding {(team, company)}: {reserved} of {quantity} reserved, open sells hold {should}")
    wrong += [f"open sells of {key} hold {n} shares it has no holding for" for key, n in held_shares.items()]
    return wrong
