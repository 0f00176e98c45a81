"""Topics (SPEC §5): a connection receives only what it subscribed to with `?topics=`, WebSocket and
SSE alike, and its snapshot carries what those topics need."""

import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market import services
from market.models import EventSettings
from newsroom.services import news_create
from overlay.tests.conftest import TOKEN, run, session_headers, socket

pytestmark = pytest.mark.django_db(transaction=True)


def committed(change):
    return database_sync_to_async(change)()


async def drain(ws, seconds: float = 0.4) -> list[dict]:
    """Every message the socket receives until it has been quiet for `seconds`."""
    got = []
    while not await ws.receive_nothing(timeout=seconds):
        got.append(await ws.receive_json_from())
    return got


async def open_with_snapshot(path: str, headers=None) -> tuple:
    ws = socket(path, headers)
    connected, _ = await ws.connect()
    assert connected
    snapshot = await ws.receive_json_from(timeout=3)
    assert snapshot["type"] == "snapshot"
    return ws, snapshot["data"]


def a_busy_minute(team, company):
    """A bell, a price, a trade (with its portfolio and leaderboard), and news."""
    services.market_open(by=None)
    services.price_set(company=company, price=Decimal("12.00"), by=None)
    services.trade_execute(participant=team, company=company, side="buy", quantity=1)
    news_create(by=None, title="Rates cut", content="x", published_at=timezone.now())


def test_without_topics_a_connection_gets_everything_but_the_trade_tape(team, other_team, company):
    headers = session_headers(other_team.user)

    async def scenario():
        overlay, _ = await open_with_snapshot(f"/api/ws?token={TOKEN}")
        theirs, _ = await open_with_snapshot("/api/ws", headers)
        await committed(lambda: a_busy_minute(team, company))
        return {event["type"] for event in await drain(overlay)}, {event["type"] for event in await drain(theirs)}

    overlay, theirs = run(scenario)
    assert overlay == {"bell", "price", "leaderboard", "news"}
    assert theirs >= {"bell", "price", "leaderboard", "news"}
    assert "trade" not in theirs and "portfolio" not in theirs


@pytest.mark.parametrize(
    "topics, expected",
    [
        ("trades", {"trade"}),
        ("market", {"bell", "price"}),
        ("news", {"news"}),
        ("leaderboard", {"leaderboard"}),
        ("market,trades", {"bell", "price", "trade"}),
        ("news&topics=trades", {"news", "trade"}),  # the parameter may be repeated
        (" news , market ", {"news", "bell", "price"}),
    ],
)
def test_a_socket_receives_only_the_topics_it_asked_for(team, company, topics, expected):
    async def scenario():
        ws, _ = await open_with_snapshot(f"/api/ws?token={TOKEN}&topics={topics}")
        await committed(lambda: a_busy_minute(team, company))
        got = await drain(ws)
        await ws.disconnect()
        return {event["type"] for event in got}

    assert run(scenario) == expected


def test_a_teams_own_topic_brings_its_portfolio_and_nothing_of_the_market(team, company):
    headers = session_headers(team.user)

    async def scenario():
        ws, snapshot = await open_with_snapshot("/api/ws?topics=own", headers)
        await committed(lambda: a_busy_minute(team, company))
        got = await drain(ws)
        await ws.disconnect()
        return snapshot, got

    snapshot, got = run(scenario)
    assert set(snapshot) == {"market", "portfolio", "orders"}
    assert snapshot["portfolio"]["cash"] == "100000.00"
    assert {event["type"] for event in got} <= {"portfolio", "rank"}
    portfolio = next(event for event in got if event["type"] == "portfolio")
    assert portfolio["data"]["holdings"][0]["ticker"] == "ACME"


@pytest.mark.parametrize(
    "query, words",
    [
        ("topics=prices", "'prices'"),
        ("topics=market,gossip", "'gossip'"),
        ("topics=", "at least one topic"),
        ("topics=,,", "at least one topic"),
        ("topics=own", "'own'"),  # an overlay has no portfolio of its own
    ],
)
def test_a_socket_asking_for_an_unknown_topic_gets_an_error_then_4400(query, words):
    async def scenario():
        ws = socket(f"/api/ws?token={TOKEN}&{query}")
        connected, _ = await ws.connect()
        assert connected
        error = await ws.receive_json_from(timeout=2)
        closed = await ws.receive_output(timeout=2)
        return error, closed

    error, closed = run(scenario)
    assert error["type"] == "error"
    assert error["data"]["code"] == "validation_error"
    assert words in error["data"]["message"]
    assert closed == {"type": "websocket.close", "code": 4400}


@pytest.mark.parametrize("query", ["topics=prices", "topics=", "topics=own"])
def test_a_stream_asking_for_an_unknown_topic_is_refused_as_bad_input(query):
    async def scenario():
        return await AsyncClient().get(f"/api/obs/events?token={TOKEN}&{query}")

    response = run(scenario)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"]["topics"]


def test_a_stream_receives_only_its_topics(team, company):
    async def scenario():
        response = await AsyncClient().get(f"/api/obs/events?token={TOKEN}&topics=news,trades")
        stream = aiter(response.streaming_content)
        snapshot = await sse_event(stream)
        await committed(lambda: a_busy_minute(team, company))
        got = [await sse_event(stream) for _ in range(2)]
        await stream.aclose()
        return snapshot, got

    snapshot, got = run(scenario)
    assert set(snapshot["data"]) == {"market", "news", "trades"}
    assert [event["type"] for event in got] == ["trade", "news"]


def test_a_teams_stream_carries_its_portfolio_in_the_snapshot(team):
    key = Token.objects.create(user=team.user).key

    async def scenario():
        response = await AsyncClient().get("/api/obs/events", headers={"Authorization": f"Token {key}"})
        stream = aiter(response.streaming_content)
        snapshot = await sse_event(stream)
        await stream.aclose()
        return snapshot

    data = run(scenario)["data"]
    # Every topic but the tape (and the organisers' run sheet): the scene on the stream too.
    assert set(data) == {"market", "companies", "leaderboard", "news", "scene", "portfolio", "orders"}
    assert data["portfolio"]["total_value"] == "100000.00"
    assert data["scene"]["scene"] == "market"


def test_the_snapshot_carries_what_the_topics_need(team, company, admin_user):
    def trade():
        services.market_open(by=None)
        services.trade_execute(participant=team, company=company, side="buy", quantity=4)

    trade()
    headers = session_headers(team.user)

    async def scenario():
        snapshots = {}
        for topics in ("market", "leaderboard", "news", "trades"):
            ws, snapshots[topics] = await open_with_snapshot(f"/api/ws?token={TOKEN}&topics={topics}")
            await ws.disconnect()
        ws, snapshots["own"] = await open_with_snapshot("/api/ws?topics=market,own", headers)
        await ws.disconnect()
        return snapshots

    snapshots = run(scenario)
    assert set(snapshots["market"]) == {"market", "companies"}
    assert set(snapshots["leaderboard"]) == {"market", "leaderboard"}
    assert set(snapshots["news"]) == {"market", "news"}
    assert set(snapshots["trades"]) == {"market", "trades"}
    assert snapshots["trades"]["trades"][0]["quantity"] == 4
    assert snapshots["trades"]["trades"][0]["team"] == "Bull Riders"
    assert set(snapshots["own"]) == {"market", "companies", "portfolio", "orders"}
    holding = snapshots["own"]["portfolio"]["holdings"][0]
    assert (holding["ticker"], holding["quantity"], holding["cost"]) == ("ACME", 4, "40.0000")


# Rank: a team's own, without asking


def test_a_team_hears_its_new_rank_when_another_team_overtakes_it(team, other_team, company):
    def setup():
        services.market_open(by=None)
        services.trade_execute(participant=team, company=company, side="buy", quantity=10)

    setup()  # Bull Riders hold ACME, Bear Necessities only cash: equal values, ranked by trade

    headers = session_headers(team.user)

    async def scenario():
        ws, snapshot = await open_with_snapshot("/api/ws?topics=own", headers)
        await committed(lambda: services.price_set(company=company, price=Decimal("9.00"), by=None))
        got = await drain(ws, 0.6)
        await ws.disconnect()
        return snapshot, got

    snapshot, got = run(scenario)
    assert snapshot["portfolio"]["rank"] == 1
    assert [event["data"] for event in got if event["type"] == "rank"] == [{"rank": 2}]


def test_a_rank_that_did_not_change_is_not_sent_again(team, other_team, company):
    services.market_open(by=None)
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)

    headers = session_headers(team.user)

    async def scenario():
        ws, _ = await open_with_snapshot("/api/ws?topics=own", headers)
        # Up twice: Bull Riders stay first.
        for value in ("11.00", "12.00"):
            await committed(lambda value=value: services.price_set(company=company, price=Decimal(value), by=None))
        got = await drain(ws, 0.6)
        await ws.disconnect()
        return got

    assert [event for event in run(scenario) if event["type"] == "rank"] == []


def test_no_rank_reaches_a_team_while_the_event_hides_the_leaderboard(team, other_team, company):
    services.market_open(by=None)
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    EventSettings.objects.filter(pk=1).update(leaderboard_visible=False)

    headers = session_headers(team.user)

    async def scenario():
        ws, _ = await open_with_snapshot("/api/ws?topics=own", headers)
        await committed(lambda: services.price_set(company=company, price=Decimal("9.00"), by=None))
        got = await drain(ws, 0.6)
        await ws.disconnect()
        return got

    assert [event for event in run(scenario) if event["type"] == "rank"] == []


async def sse_event(stream) -> dict:
    while True:
        chunk = await anext(stream)
        chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
        if chunk.startswith("data: "):
            return json.loads(chunk.removeprefix("data: "))


def test_each_team_hears_only_its_own_rank_from_the_one_message_that_carries_them_all(
    team, other_team, make_team, company
):
    third = make_team("Third Wave")
    services.market_open(by=None)
    services.trade_execute(participant=team, company=company, side="buy", quantity=10)
    headers = {name: session_headers(who.user) for name, who in (("bulls", team), ("bears", other_team))}

    async def scenario():
        bulls, _ = await open_with_snapshot("/api/ws?topics=own", headers["bulls"])
        bears, _ = await open_with_snapshot("/api/ws?topics=own", headers["bears"])
        # ACME falls: Bull Riders (holding it) drop from first to third, the others move up.
        await committed(lambda: services.price_set(company=company, price=Decimal("9.00"), by=None))
        got = {"bulls": await drain(bulls, 0.6), "bears": await drain(bears, 0.6)}
        for ws in (bulls, bears):
            await ws.disconnect()
        return got

    got = run(scenario)
    ranks = {name: [e["data"]["rank"] for e in events if e["type"] == "rank"] for name, events in got.items()}
    assert ranks == {"bulls": [3], "bears": [1]}
    assert third.display_name == "Third Wave"  # ranked second, on no socket here
