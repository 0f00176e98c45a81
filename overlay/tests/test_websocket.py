"""WebSocket /api/ws: snapshot first, every event type, refusals, commands, private portfolios."""

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from market import services
from market.models import TradingDay
from newsroom.services import news_create
from overlay.tests.conftest import TOKEN, run, session_headers, socket

# Real commits: consumers close stale connections between calls, which would end a test transaction,
# and broadcasts go out on commit as in production.
pytestmark = pytest.mark.django_db(transaction=True)

COMPANY_FIELDS = {"id", "ticker", "name", "description", "price", "previous_price", "change", "change_pct", "is_active"}


def committed(change):
    """Run a service as a request would: it commits, and its broadcasts go out."""
    return database_sync_to_async(change)()


async def open_socket(path=f"/api/ws?token={TOKEN}", headers=None):
    ws = socket(path, headers)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def next_event(ws, event_type: str, timeout: float = 2.0) -> dict:
    """The next event of this type, skipping others (a trade also moves the leaderboard...)."""
    while True:
        event = await ws.receive_json_from(timeout=timeout)
        if event["type"] == event_type:
            return event


def test_snapshot_is_the_first_message(make_company, team, admin_user):
    make_company("ACME")
    for title in ["one", "two", "three", "four", "five", "six"]:
        news_create(by=None, title=title, content="x", published_at=timezone.now())
    news_create(by=None, title="later", content="x", published_at=timezone.now() + timezone.timedelta(hours=1))

    async def scenario():
        ws = await open_socket()
        first = await ws.receive_json_from()
        await ws.disconnect()
        return first

    first = run(scenario)

    assert first["type"] == "snapshot"
    assert set(first) == {"type", "data", "at"}
    data = first["data"]
    assert data["market"] == {"status": "closed", "day": 0, "opened_at": None, "closes_at": None}
    assert [c["ticker"] for c in data["companies"]] == ["ACME"]
    assert set(data["companies"][0]) == COMPANY_FIELDS
    assert [row["display_name"] for row in data["leaderboard"]] == ["Bull Riders"]
    assert len(data["news"]) == 5
    assert "later" not in [item["title"] for item in data["news"]]


def test_leaderboard_in_the_snapshot_is_the_top_ten(make_team):
    for n in range(12):
        make_team(f"Team {n:02d}")

    async def scenario():
        ws = await open_socket()
        first = await ws.receive_json_from()
        await ws.disconnect()
        return first

    assert len(run(scenario)["data"]["leaderboard"]) == 10


@pytest.mark.parametrize(
    "path, expected",
    [("/api/ws", 4401), ("/api/ws?token=wrong", 4401), ("/api/ws?token=", 4401)],
)
def test_sockets_without_a_valid_session_or_token_are_refused(path, expected):
    async def scenario():
        ws = socket(path)
        await ws.connect()
        closed = await ws.receive_output(timeout=2)
        await ws.disconnect()
        return closed

    assert run(scenario) == {"type": "websocket.close", "code": expected}


def test_a_team_session_from_another_site_is_forbidden(team):
    headers = session_headers(team.user, origin="https://evil.example")

    async def scenario():
        ws = socket("/api/ws", headers)
        await ws.connect()
        closed = await ws.receive_output(timeout=2)
        await ws.disconnect()
        return closed

    assert run(scenario) == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("who", ["team", "admin_user"])
def test_signed_in_sessions_are_accepted(request, who):
    user = request.getfixturevalue(who)
    headers = session_headers(getattr(user, "user", user))

    async def scenario():
        ws = await open_socket("/api/ws", headers)
        first = await ws.receive_json_from()
        await ws.disconnect()
        return first

    assert run(scenario)["type"] == "snapshot"


def test_bells_prices_trades_news_and_leaderboard_arrive_with_their_fields(team, company):
    async def scenario():
        ws = await open_socket(f"/api/ws?token={TOKEN}&topics=market,news,leaderboard,trades")
        await ws.receive_json_from()  # snapshot
        events = {}
        await committed(lambda: services.market_open(by=None))
        events["bell"] = await next_event(ws, "bell")
        await committed(lambda: services.price_set(company=company, price=Decimal("12.50"), by=None))
        events["price"] = await next_event(ws, "price")
        await committed(lambda: services.trade_execute(participant=team, company=company, side="buy", quantity=3))
        events["trade"] = await next_event(ws, "trade")
        events["leaderboard"] = await next_event(ws, "leaderboard")
        await committed(lambda: news_create(by=None, title="Rates cut", content="x", published_at=timezone.now()))
        events["news"] = await next_event(ws, "news")
        await committed(lambda: services.market_close(by=None))
        events["end"] = await next_event(ws, "bell")
        await ws.disconnect()
        return events

    events = run(scenario)

    for event in events.values():
        assert set(event) == {"type", "data", "at"}
    assert events["bell"]["data"]["action"] == "start_day"
    assert events["bell"]["data"]["day"] == 1
    assert events["bell"]["data"]["market"]["status"] == "open"
    price = events["price"]["data"]
    assert {k: price[k] for k in ("ticker", "price", "previous_price", "change", "change_pct")} == {
        "ticker": "ACME",
        "price": "12.50",
        "previous_price": "10.00",
        "change": "2.50",
        "change_pct": "25.00",
    }
    trade = events["trade"]["data"]
    assert {k: trade[k] for k in ("ticker", "type", "quantity", "price", "team")} == {
        "ticker": "ACME",
        "type": "buy",
        "quantity": 3,
        "price": "12.50",
        "team": "Bull Riders",
    }
    assert (trade["total"], trade["fee"], trade["day"]) == ("37.50", "0.00", 1)
    assert trade["id"] and trade["created_at"]
    assert events["leaderboard"]["data"]["entries"][0]["display_name"] == "Bull Riders"
    assert set(events["leaderboard"]["data"]["entries"][0]) == {
        "rank",
        "display_name",
        "school",
        "total_value",
        "return_pct",
        "trades",
    }
    assert set(events["news"]["data"]) == {"id", "title", "published_at"}
    assert events["news"]["data"]["title"] == "Rates cut"
    assert events["end"]["data"]["action"] == "end_day"
    assert events["end"]["data"]["companies"][0]["change"] == "0.00"


def test_a_teams_portfolio_reaches_only_its_own_socket(team, other_team, company, open_market):
    my_headers, their_headers = session_headers(team.user), session_headers(other_team.user)

    async def scenario():
        mine = await open_socket("/api/ws", my_headers)
        theirs = await open_socket("/api/ws", their_headers)
        overlay = await open_socket()
        for ws in (mine, theirs, overlay):
            await ws.receive_json_from()
        await committed(lambda: services.trade_execute(participant=team, company=company, side="buy", quantity=2))
        own = await next_event(mine, "portfolio")
        seen = {"theirs": [], "overlay": []}
        for name, ws in (("theirs", theirs), ("overlay", overlay)):
            while not await ws.receive_nothing(timeout=0.3):
                seen[name].append((await ws.receive_json_from())["type"])
        for ws in (mine, theirs, overlay):
            await ws.disconnect()
        return own, seen

    own, seen = run(scenario)

    assert own["data"]["cash"] == "99980.00"
    assert own["data"]["holdings"][0]["quantity"] == 2
    assert own["data"]["transaction"]["quantity"] == 2  # the trade with it, for the team's history
    assert "portfolio" not in seen["theirs"]
    assert "portfolio" not in seen["overlay"]
    # Neither page shows other teams' trades: without `trades` in its topics, no tape.
    assert "trade" not in seen["theirs"] and "trade" not in seen["overlay"]


def test_an_admin_rings_the_bell_over_the_socket(admin_user):
    headers = session_headers(admin_user)

    async def scenario():
        ws = await open_socket("/api/ws", headers)
        await ws.receive_json_from()
        await ws.send_json_to({"type": "bell", "action": "start_day"})
        event = await next_event(ws, "bell")
        await ws.disconnect()
        return event

    event = run(scenario)
    assert event["data"]["action"] == "start_day"
    assert TradingDay.objects.get().is_open


def test_a_bell_rung_twice_answers_an_error(admin_user, open_market):
    headers = session_headers(admin_user)

    async def scenario():
        ws = await open_socket("/api/ws", headers)
        await ws.receive_json_from()
        await ws.send_json_to({"type": "bell", "action": "start_day"})
        reply = await ws.receive_json_from()
        await ws.disconnect()
        return reply

    assert run(scenario) == {
        "type": "error",
        "data": {"code": "market_already_open", "message": "Day is already open."},
    }


@pytest.mark.parametrize("who", ["team", "overlay"])
def test_only_admins_may_ring_the_bell(team, who):
    path, headers = ("/api/ws", session_headers(team.user)) if who == "team" else (f"/api/ws?token={TOKEN}", None)

    async def scenario():
        ws = await open_socket(path, headers)
        await ws.receive_json_from()
        await ws.send_json_to({"type": "bell", "action": "start_day"})
        reply = await ws.receive_json_from()
        await ws.disconnect()
        return reply

    reply = run(scenario)
    assert reply["type"] == "error"
    assert reply["data"]["code"] == "forbidden"
    assert not TradingDay.objects.exists()


@pytest.mark.parametrize(
    "message, code",
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"no": "type"}', "malformed"),
        ('{"type": 5}', "malformed"),
        ('{"type": "bell", "action": "ring_forever"}', "malformed"),
        ('{"type": "sell_everything"}', "unknown_command"),
        ("x" * 10_000, "malformed"),
    ],
)
def test_malformed_messages_get_an_error_and_the_socket_lives_on(admin_user, message, code):
    headers = session_headers(admin_user)

    async def scenario():
        ws = await open_socket("/api/ws", headers)
        await ws.receive_json_from()
        await ws.send_to(text_data=message)
        reply = await ws.receive_json_from()
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from()
        await ws.disconnect()
        return reply, pong

    reply, pong = run(scenario)
    assert reply["type"] == "error"
    assert reply["data"]["code"] == code
    assert reply["data"]["message"]
    assert pong["type"] == "pong"
    assert not TradingDay.objects.exists()


def test_a_hidden_leaderboard_is_kept_from_teams_but_not_from_the_overlay(team, company, open_market, event_settings):
    event_settings.leaderboard_visible = False
    event_settings.save()
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)  # so the price moves values

    headers = session_headers(team.user)

    async def scenario():
        player = await open_socket("/api/ws", headers)
        overlay = await open_socket()
        player_snapshot = await player.receive_json_from()
        overlay_snapshot = await overlay.receive_json_from()
        await committed(lambda: services.price_set(company=company, price=Decimal("11.00"), by=None))
        overlay_board = await next_event(overlay, "leaderboard")
        player_types = []
        while not await player.receive_nothing(timeout=0.3):
            player_types.append((await player.receive_json_from())["type"])
        for ws in (player, overlay):
            await ws.disconnect()
        return player_snapshot, overlay_snapshot, overlay_board, player_types

    player_snapshot, overlay_snapshot, overlay_board, player_types = run(scenario)
    assert player_snapshot["data"]["leaderboard"] == []
    assert overlay_snapshot["data"]["leaderboard"]
    assert overlay_board["data"]["entries"]
    assert "price" in player_types
    assert "leaderboard" not in player_types


def test_a_price_change_sends_a_leaderboard_only_when_a_team_holds_the_stock(team, make_company, open_market):
    held, unheld = make_company("ACME", "10.00"), make_company("BOLT", "3.50")
    services.trade_execute(participant=team, company=held, side="buy", quantity=5)

    async def scenario():
        ws = await open_socket()
        await ws.receive_json_from()  # snapshot
        seen = []
        for company, price in ((unheld, "4.00"), (held, "12.00")):
            await committed(
                lambda company=company, price=price: services.price_set(company=company, price=Decimal(price), by=None)
            )
            await next_event(ws, "price")
            while not await ws.receive_nothing(timeout=1.5):  # past the leaderboard's coalescing second
                seen.append((company.ticker, (await ws.receive_json_from())["type"]))
        await ws.disconnect()
        return seen

    assert run(scenario) == [("ACME", "leaderboard")]
