"""The control room's director panel (SPEC §8): a scene chosen with its options, previewed (a JSON
answer the overlay's preview draws), taken (a form answered with a message, or the message alone
for the page's script), the podium revealed place by place, and the scene on air named."""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from market.models import AuditEntry, Participant, TradingDay
from newsroom.services import news_create
from organisers.control_room import director
from organisers.director import live
from organisers.director.services import scene_take
from organisers.models import Broadcast
from organisers.runsheet.times import event_time_text
from overlay.tests.servers import ROOT

pytestmark = pytest.mark.django_db

ROOM = "/admin/control-room/"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def organiser(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def field(make_team):
    """Four teams, values by hand: Aces first, Owls second, Bees third, Cats fourth."""
    values = {"Aces": "130000.00", "Owls": "120000.00", "Bees": "110000.00", "Cats": "90000.00"}
    teams = {name: make_team(name, school="SMA 1" if name != "Owls" else "") for name in values}
    for name, value in values.items():
        Participant.objects.filter(pk=teams[name].pk).update(portfolio_value=Decimal(value))
    return teams


@pytest.fixture
def sent(monkeypatch):
    """The live events sent (after their commit)."""
    events = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **kwargs: events.append(event))
    return events


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def panel(page) -> str:
    html = page.content.decode()
    return html[html.index('<section class="module wide" id="director"') : html.index('id="run-sheet"')]


def on_air(page) -> str:
    """The panel's "On air" line, as words."""
    return text(re.search(r'<p class="on-air"[^>]*>(.*?)</p>', panel(page), re.S).group(1))


def said(page) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in page.context["messages"]]


def post(client: Client, action: str, data: dict):
    """POST a director form without the page's script, and follow its redirect back to the panel."""
    response = client.post(f"{ROOM}{action}", data)
    assert response.status_code == 302, response.content
    assert response["Location"] == f"{ROOM}#director"
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def soon(minutes: int = 60) -> str:
    return event_time_text(timezone.now() + timedelta(minutes=minutes))[:16]


# Who may use it


def test_a_team_or_a_stranger_is_sent_to_the_admin_sign_in_and_nothing_is_taken(client, team):
    for signed_in in (None, team.user):
        if signed_in:
            client.force_login(signed_in)
        for method, action, data in (
            ("post", "scene/take", {"scene": "leaderboard"}),
            ("post", "scene/reveal", {"revealed": "1"}),
            ("get", "scene/preview", {"scene": "leaderboard"}),
        ):
            response = getattr(client, method)(f"{ROOM}{action}", data, **JSON)
            assert response.status_code == 302, action
            assert response["Location"].startswith("/admin/login/"), action
    assert Broadcast.load().scene == "market"
    assert not AuditEntry.objects.filter(action="scene_take").exists()


def test_the_panel_only_posts(organiser):
    assert organiser.get(f"{ROOM}scene/take").status_code == 405
    assert organiser.get(f"{ROOM}scene/reveal").status_code == 405
    assert organiser.post(f"{ROOM}scene/preview", {"scene": "market"}).status_code == 405


# The scene on air


def test_the_panel_names_the_scene_on_air_and_listens_for_the_next(organiser, admin_user):
    page = organiser.get(ROOM)

    assert on_air(page) == "On air: Market"
    assert 'data-topics="trades,cues,scene"' in page.content.decode()  # every `scene` event renames it
    assert re.search(r'<input type="radio" name="scene" value="market"[^>]* checked>', panel(page))

    item = news_create(by=None, title="Rates cut", content="By a quarter point.", published_at=timezone.now())
    taken = scene_take(by=admin_user, scene="news", options={"news": str(item.pk)})  # another organiser, or a cue

    page = organiser.get(ROOM)
    since = timezone.localtime(taken.taken_at).strftime("%H:%M:%S")
    assert on_air(page) == f"On air: News: “Rates cut” since {since}"
    # The form starts on the scene on air: Take as drawn takes it again.
    assert re.search(r'<input type="radio" name="scene" value="news"[^>]* checked>', panel(page))
    assert f'<option value="{item.pk}" selected>' in panel(page)


def test_a_countdown_to_a_time_is_named_with_its_time_and_title(organiser, admin_user):
    at = soon(90)
    scene_take(by=admin_user, scene="countdown", options={"to": at, "title": "Awards"})

    page = organiser.get(ROOM)

    assert on_air(page).startswith(f"On air: Countdown to {at[-5:]}: Awards since ")
    assert 'name="at" value="' + at + '"' in panel(page)
    assert re.search(r'<input type="radio" name="to" value="time"[^>]* checked>', panel(page))


# Taking a scene from the form


@pytest.fixture
def show(field, make_company, open_market, admin_user):
    """Teams, a moving company, a published item and a bell scheduled: every scene can be taken."""
    TradingDay.objects.filter(pk=open_market.pk).update(scheduled_close_at=timezone.now() + timedelta(hours=2))
    acme = make_company("ACME", "10.00")
    from market.services import price_set

    price_set(company=acme, price=Decimal("12.00"), by=None)
    item = news_create(by=None, title="Rates cut", content="By a quarter point.", published_at=timezone.now())
    return {"news": item}


def scene_forms(show) -> list:
    """(form, the options taken, the scene named on air)."""
    at = soon(30)
    return [
        ({"scene": "market"}, {}, "Market"),
        ({"scene": "leaderboard", "top": "3"}, {"top": 3}, "Leaderboard, top 3"),
        ({"scene": "news", "news": str(show["news"].pk)}, {"news": str(show["news"].pk)}, "News: “Rates cut”"),
        ({"scene": "news", "news": ""}, {"news": str(show["news"].pk)}, "News: “Rates cut”"),  # the latest
        ({"scene": "countdown", "to": "bell", "title": ""}, {"to": "bell", "title": ""}, "Countdown to "),
        (
            {"scene": "countdown", "to": "time", "at": at, "title": "Lunch"},
            {"to": at, "title": "Lunch"},
            f"Countdown to {at[-5:]}: Lunch",
        ),
        ({"scene": "movers", "count": "2"}, {"count": 2}, "Movers, 2 each way"),
        ({"scene": "schools", "top": "5"}, {"top": 5}, "Schools, top 5"),
        ({"scene": "podium", "revealed": "2"}, {"revealed": 2}, "Podium: third and second revealed"),
    ]


def test_each_scene_is_taken_from_the_form_and_named_on_air(
    organiser, admin_user, show, sent, django_capture_on_commit_callbacks
):
    for form, options, named in scene_forms(show):
        # The other scenes' fields are sent too (the form has them all): they are not read.
        data = {"top": "10", "count": "5", "revealed": "0", "to": "bell", "at": "", "title": "", "news": "", **form}
        with django_capture_on_commit_callbacks(execute=True):
            page = post(organiser, "scene/take", data)

        broadcast = Broadcast.load()
        assert (broadcast.scene, broadcast.options, broadcast.taken_by) == (form["scene"], options, admin_user)
        ((level, message),) = said(page)
        assert level == "success"
        assert message.startswith(f"On the stream now: {named}"), message
        assert on_air(page).startswith(f"On air: {named}")
        assert sent[-1]["type"] == "scene"
        assert (sent[-1]["data"]["scene"], sent[-1]["data"]["options"]) == (form["scene"], options)
    assert AuditEntry.objects.filter(action="scene_take", actor=admin_user).count() == len(scene_forms(show))


def test_the_countdown_to_the_next_bell_names_its_time(organiser, show):
    closes = TradingDay.objects.get(closed_at__isnull=True).scheduled_close_at

    page = post(organiser, "scene/take", {"scene": "countdown", "to": "bell", "title": ""})

    assert on_air(page).startswith(f"On air: Countdown to {timezone.localtime(closes):%H:%M}: Trading closes since "), (
        on_air(page)
    )


@pytest.mark.parametrize(
    "form, field_name, message",
    [
        ({"scene": "leaderboard", "top": "99"}, "top", "The scene's top is not right: A whole number from 1 to 50."),
        ({"scene": "leaderboard", "top": "ten"}, "top", "The scene's top is not right: A whole number from 1 to 50."),
        ({"scene": "movers", "count": "0"}, "count", "The scene's count is not right: A whole number from 1 to 10."),
        (
            {"scene": "podium", "revealed": "4"},
            "revealed",
            "The scene's revealed is not right: A whole number from 0 to 3.",
        ),
        ({"scene": "news", "news": "not-an-id"}, "news", "The scene's news is not right: A published news item's id."),
        (
            {"scene": "countdown", "to": "time", "at": ""},
            "at",
            "Give the time to count down to: 10:00, or 2026-12-08 10:00.",
        ),
        (
            {"scene": "countdown", "to": "time", "at": "2020-01-01 10:00"},
            "at",
            "The scene's to is not right: That time has passed.",
        ),
        ({"scene": "countdown", "to": "time", "at": "+00:10:00"}, "at", "The scene's to is not right: "),
        ({"scene": "fireworks"}, "scene", "Choose one of the scenes."),
        ({}, "scene", "Choose a scene."),
    ],
)
def test_a_bad_option_is_refused_in_a_message_and_the_form_comes_back_with_it(organiser, form, field_name, message):
    page = post(organiser, "scene/take", form)

    ((level, words),) = said(page)
    assert level == "error"
    assert words.startswith(f"Nothing taken: {message}"), words
    assert Broadcast.load().scene == "market"
    assert not AuditEntry.objects.filter(action="scene_take").exists()
    # Drawn again as sent, the error beside its field (the page's script would show it the same).
    error = re.search(rf'<p class="field-error" id="director-{field_name}-error"[^>]*>(.*?)</p>', panel(page), re.S)
    assert text(error.group(1)), panel(page)
    if "top" in form:
        assert f'name="top" value="{form["top"]}"' in panel(page)
    if form.get("scene") in ("leaderboard", "countdown"):
        assert re.search(rf'<input type="radio" name="scene" value="{form["scene"]}"[^>]* checked>', panel(page))


def test_the_countdown_to_the_next_bell_is_refused_when_no_bell_is_scheduled(organiser):
    page = post(organiser, "scene/take", {"scene": "countdown", "to": "bell"})

    assert said(page) == [
        (
            "error",
            "Nothing taken: The scene's to is not right: No bell is scheduled: give the countdown a time (e.g. 10:00).",
        )
    ]


def test_with_the_script_a_take_answers_its_message_alone(organiser, field):
    taken = organiser.post(f"{ROOM}scene/take", {"scene": "leaderboard", "top": "2"}, **JSON)
    refused = organiser.post(f"{ROOM}scene/take", {"scene": "leaderboard", "top": "0"}, **JSON)

    assert (taken.status_code, taken.json()) == (
        200,
        {"level": "success", "message": "On the stream now: Leaderboard, top 2."},
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "level": "error",
        "message": "Nothing taken: The scene's top is not right: A whole number from 1 to 50.",
        "errors": {"top": ["A whole number from 1 to 50."]},
    }
    assert Broadcast.load().options == {"top": 2}
    assert said(organiser.get(ROOM)) == []  # nothing left waiting for the next page


# The preview


def test_the_preview_answers_what_the_overlay_would_draw_and_takes_nothing(organiser, field, sent):
    response = organiser.get(f"{ROOM}scene/preview", {"scene": "leaderboard", "top": "2", "count": "x"})

    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "Leaderboard, top 2"
    assert body["scene"]["scene"] == "leaderboard"
    assert body["scene"]["options"] == {"top": 2}
    assert body["scene"]["taken_at"] is None
    assert [entry["display_name"] for entry in body["scene"]["data"]["entries"]] == ["Aces", "Owls"]
    # The same payload, as JSON, as the `scene` event a take would send.
    assert body["scene"]["data"]["entries"][0]["total_value"] == "130000.00"
    assert (
        body["scene"]["data"]
        == organiser.get(f"{ROOM}scene/preview", {"scene": "leaderboard", "top": "2"}).json()["scene"]["data"]
    )
    assert Broadcast.load().scene == "market"
    assert sent == []
    assert not AuditEntry.objects.filter(action="scene_take").exists()


def test_the_podium_preview_shows_only_the_places_asked_for(organiser, field):
    body = organiser.get(f"{ROOM}scene/preview", {"scene": "podium", "revealed": "1"}).json()

    assert body["label"] == "Podium: third revealed"
    assert [place["display_name"] for place in body["scene"]["data"]["places"]] == ["Bees"]
    assert body["scene"] == {**live.payload("podium", {"revealed": 1}), "data": body["scene"]["data"]}


@pytest.mark.parametrize(
    "query, message, errors",
    [
        (
            {"scene": "leaderboard", "top": "51"},
            "Not previewed: The scene's top is not right: A whole number from 1 to 50.",
            {"top": ["A whole number from 1 to 50."]},
        ),
        (
            {"scene": "news"},
            "Not previewed: The scene's news is not right: No news is published yet: publish one first.",
            {"news": ["No news is published yet: publish one first."]},
        ),
        ({"scene": "nope"}, "Not previewed: Choose one of the scenes.", {"scene": ["Choose one of the scenes."]}),
    ],
)
def test_a_preview_refused_is_a_message_not_a_server_error(organiser, query, message, errors):
    response = organiser.get(f"{ROOM}scene/preview", query)

    assert response.status_code == 400
    assert response.json() == {"level": "error", "message": message, "errors": errors}


# The podium, place by place


def podium_next(page) -> str:
    return text(re.search(r'data-field="podium-next">(.*?)</p>', panel(page), re.S).group(1))


def reveal_value(page) -> str:
    return re.search(r'data-role="reveal">.*?name="revealed" value="(\d)"', panel(page), re.S).group(1)


def test_the_podium_is_revealed_third_then_second_then_first_from_the_panel(organiser, field):
    page = post(organiser, "scene/take", {"scene": "podium", "revealed": "0"})  # Cover all
    assert on_air(page).startswith("On air: Podium: every place covered")
    assert podium_next(page) == "Next to reveal: third place."

    steps = []
    for _ in range(3):
        page = post(organiser, "scene/reveal", {"revealed": reveal_value(page)})
        steps.append((said(page)[0][1], on_air(page).split(" since ")[0], podium_next(page)))

    assert steps == [
        (
            "Revealed third place on the stream: Bees (SMA 1).",
            "On air: Podium: third revealed",
            "Next to reveal: second place.",
        ),
        (
            "Revealed second place on the stream: Owls.",
            "On air: Podium: third and second revealed",
            "Next to reveal: first place.",
        ),
        (
            "Revealed first place on the stream: Aces (SMA 1).",
            "On air: Podium: third, second and first revealed",
            "Every place is revealed.",
        ),
    ]
    assert 'class="button reveal" aria-disabled="true"' in panel(page)

    page = post(organiser, "scene/reveal", {"revealed": "4"})
    assert said(page) == [("error", "Nothing revealed: Ensure this value is less than or equal to 3.")]
    page = post(organiser, "scene/reveal", {"revealed": "3"})
    assert said(page) == [("info", "Nothing revealed: every place is revealed already.")]

    page = post(organiser, "scene/take", {"scene": "podium", "revealed": "0"})
    assert said(page) == [("success", "On the stream now: Podium: every place covered.")]
    assert podium_next(page) == "Next to reveal: third place."


def test_reveal_takes_the_podium_when_another_scene_is_on_air(organiser, field, admin_user):
    scene_take(by=admin_user, scene="leaderboard", options={"top": 5})
    page = organiser.get(ROOM)
    assert podium_next(page) == "Next to reveal: third place."

    page = post(organiser, "scene/reveal", {"revealed": reveal_value(page)})

    assert (Broadcast.load().scene, Broadcast.load().options) == ("podium", {"revealed": 1})
    assert said(page) == [("success", "Revealed third place on the stream: Bees (SMA 1).")]


def test_a_reveal_from_a_page_drawn_before_another_organisers_changes_nothing(organiser, field, admin_user):
    page = organiser.get(ROOM)
    assert reveal_value(page) == "1"
    scene_take(by=admin_user, scene="podium", options={"revealed": 1})  # another organiser revealed third

    page = post(organiser, "scene/reveal", {"revealed": "1"})  # pressed on the page drawn before

    assert said(page) == [
        (
            "warning",
            "Nothing revealed: the stream changed since this page was drawn (on air: Podium: third revealed). "
            "Reveal next place now reveals second place.",
        )
    ]
    assert Broadcast.load().options == {"revealed": 1}


def test_with_two_teams_the_podium_begins_at_second_place(organiser, make_team):
    make_team("Aces")
    make_team("Bees")

    page = organiser.get(ROOM)
    assert podium_next(page) == "Next to reveal: second place."
    page = post(organiser, "scene/reveal", {"revealed": "1"})
    assert said(page)[0][1].startswith("Revealed second place on the stream: ")


def test_with_no_team_there_is_nothing_to_reveal(organiser):
    page = organiser.get(ROOM)
    assert podium_next(page) == "No team is on the podium yet."

    page = post(organiser, "scene/reveal", {"revealed": "1"})

    assert said(page) == [("info", "Nothing revealed: no team is on the podium yet.")]
    assert Broadcast.load().scene == "market"


def test_with_the_script_a_reveal_answers_its_message_alone(organiser, field):
    response = organiser.post(f"{ROOM}scene/reveal", {"revealed": "1"}, **JSON)

    assert response.json() == {"level": "success", "message": "Revealed third place on the stream: Bees (SMA 1)."}


# The page's script names a scene taken later in the same words (static/control/director.js)

DESCRIBE = """
const { describe, podiumNext } = await import(process.argv[1]);
const cases = JSON.parse((await import("node:fs")).readFileSync(0, "utf8"));
const hours = new Intl.DateTimeFormat(
  "en-GB", { timeZone: process.argv[2], hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const clock = (iso) => hours.format(new Date(iso));
console.log(JSON.stringify(cases.map(([payload, count]) => [describe(payload, clock), podiumNext(payload, count)])));
"""


def test_the_script_names_every_scene_as_the_server_does(field, make_company, open_market, settings):
    TradingDay.objects.filter(pk=open_market.pk).update(scheduled_close_at=timezone.now() + timedelta(hours=2))
    make_company("ACME", "10.00")
    item = news_create(by=None, title="Rates “cut”", content="By a quarter point.", published_at=timezone.now())
    options = [
        ("market", {}),
        ("leaderboard", {"top": 7}),
        ("schools", {"top": 2}),
        ("movers", {"count": 3}),
        ("news", {"news": str(item.pk)}),
        ("countdown", {"to": "bell", "title": ""}),
        ("countdown", {"to": soon(45), "title": "Lunch"}),
        *[("podium", {"revealed": revealed}) for revealed in range(4)],
    ]
    payloads = [live.wire(live.payload(scene, chosen)) for scene, chosen in options]
    payloads.append({**payloads[4], "data": {"news": None}})  # the item withdrawn since
    cases = [(payload, count) for payload in payloads for count in (0, 2, 3)]
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make install` needs Node.js for the front-end libraries")
    module = (ROOT / "static" / "control" / "director.js").as_uri()
    result = subprocess.run(
        [node, "--input-type=module", "-e", DESCRIBE, module, settings.EVENT_TIMEZONE],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    server = [
        [director.describe(payload), director.podium_next(on_air=payload, count=count)] for payload, count in cases
    ]
    assert json.loads(result.stdout) == server
    assert {words for words, _ in server} >= {
        "Market",
        "Leaderboard, top 7",
        "Movers, 3 each way",
        "News: “Rates “cut””",
        "Podium: third and second revealed",
        "News: the item is no longer published",
    }


@pytest.mark.parametrize(
    "form",
    [
        {"scene": "countdown", "to": "time", "at": "\x00"},
        {"scene": "leaderboard", "top": "1\x00"},
        {"scene": "countdown", "to": "bell", "title": "a\x00b"},
        {"scene": "news", "news": "\x00"},
    ],
)
def test_a_nul_character_in_an_option_is_refused_not_an_error_page(organiser, form):
    response = organiser.post(f"{ROOM}scene/take", form, follow=True)

    assert response.status_code == 200
    assert any(str(message).startswith("Nothing taken:") for message in response.context["messages"])
    assert Broadcast.load().scene == "market"
