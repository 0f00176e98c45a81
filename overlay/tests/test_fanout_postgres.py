"""Across server processes, over Redis: two Daphne servers, a client on one, a bell rung on the other.
And two schedulers at once still fire each item once. PostgreSQL (committed data the servers can
read) with Redis as the channel layer: the CI run that has both."""

import json
import threading
import urllib.request
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market.models import AuditEntry
from newsroom.models import News
from newsroom.services import news_create
from organisers.models import Cue
from organisers.scheduler import run_due
from organisers.tests.cues import due_cue
from overlay.tests.servers import TOKEN, daphne_server, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_client_on_one_server_hears_a_bell_rung_through_another(admin_user):
    from websockets.sync.client import connect

    key = Token.objects.create(user=admin_user).key
    with (
        daphne_server(free_port()) as first,
        daphne_server(free_port()) as second,
        connect(f"ws://{first}/api/ws?token={TOKEN}", open_timeout=10) as ws,
    ):
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"

        request = urllib.request.Request(
            f"http://{second}/api/admin/market/open",
            method="POST",
            headers={"Authorization": f"Token {key}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["status"] == "open"

        event = json.loads(ws.recv(timeout=5))
    assert event["type"] == "bell"
    assert event["data"]["action"] == "start_day"
    assert event["data"]["day"] == 1


def test_two_schedulers_at_once_fire_each_item_once(make_company):
    now = timezone.now()
    companies = [make_company(f"C{n}", "10.00") for n in range(4)]
    for n in range(20):
        due_cue("price", now - timedelta(seconds=20 - n), ticker=companies[n % 4].ticker, price=str(11 + n))
    for n in range(10):
        news_create(by=None, title=f"News {n}", content="x", published_at=now + timedelta(seconds=1))
    start = threading.Barrier(2)
    fired: list[list[str]] = [[], []]

    def scheduler(index: int) -> None:
        try:
            start.wait()
            for _ in range(3):
                fired[index] += run_due(now + timedelta(seconds=2))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    everything = fired[0] + fired[1]
    assert len(everything) == 30
    assert len(set(everything)) == 30, "an item fired twice"
    cues = list(Cue.objects.order_by("due_at"))
    assert [cue.status for cue in cues] == ["fired"] * 20
    assert [cue.fired_at for cue in cues] == sorted(cue.fired_at for cue in cues), "fired out of order"
    assert AuditEntry.objects.filter(action="price_set").count() == 20
    assert AuditEntry.objects.filter(action="cue_fire").count() == 20
    assert News.objects.filter(announced_at__isnull=True).count() == 0


def test_a_socket_quiet_for_longer_than_the_layers_blocking_read_still_hears_the_next_event(admin_user):
    # The server waits on Redis in blocking reads of 5 s; with redis-py's default read timeout
    # (also 5 s since redis-py 8) a quiet market timed the read out and closed the socket.
    from websockets.sync.client import connect

    key = Token.objects.create(user=admin_user).key
    with daphne_server(free_port()) as server, connect(f"ws://{server}/api/ws?token={TOKEN}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=12)  # nothing happens for more than two blocking reads

        request = urllib.request.Request(
            f"http://{server}/api/admin/market/open", method="POST", headers={"Authorization": f"Token {key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        event = json.loads(ws.recv(timeout=5))
    assert event["type"] == "bell"
