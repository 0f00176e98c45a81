"""The director's scenes on the full-scene overlay (SPEC §8) in a real browser at 1920×1080, as OBS
shows them: what the audience reads in each scene, the podium revealed place by place, a take
reaching every open page, and the control room's preview drawing what its panel sends."""

import json
import os
import re
import shutil
import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rest_framework.authtoken.models import Token

from market.models import TradingDay
from market.services import market_open, price_set, trade_execute
from newsroom.services import news_create
from organisers.director import live, scenes
from organisers.director.services import scene_take
from overlay.tests.servers import ROOT, TOKEN, api, free_port, start_server, stop_server

# Committed data, so the server process sees it; once, on SQLite: the page is the same on both.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / "docs" / "screenshots"
TAKE_MS = 1000  # SPEC §8: a take reaches every full-scene page within a second
LIVE_MS = 3000  # a leaderboard event: at most one a second
FULL_HD = {"width": 1920, "height": 1080}
PODIUM = ["Bull Riders", "Night Owls", "Blue Chips"]  # first, second, third


@pytest.fixture
def server():
    """The overlay's server, with an event currency: money is drawn as the stream shows it."""
    port = free_port()
    handle = {"port": port, "process": start_server(port, EVENT_CURRENCY="IDR")}
    yield handle
    stop_server(handle["process"])


@pytest.fixture(autouse=True)
def _no_channel_layer_here(settings):
    # The pages listen to the server process. Events of changes made here (the data set up, a
    # scene taken before a page opens) would reach no page, and Playwright's running event loop
    # on this thread makes their send fail loudly: none is sent.
    settings.CHANNEL_LAYERS = {}


@pytest.fixture
def open_page(browser):
    """Opens an overlay page in its own browser profile; none may raise a script error."""
    contexts, errors = [], []

    def open_(server, query: str = "", **context):
        context = browser.new_context(viewport=FULL_HD, **context)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"http://127.0.0.1:{server['port']}/overlay/?token={TOKEN}&sound=0{query}")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], errors


@pytest.fixture
def show(db, admin_user, make_company, make_team):
    """Five teams of three schools, apart in value; five companies that moved today; a news item."""
    listed = [
        ("ACME", "10.00", "Acme Robotics"),
        ("BOLT", "3.50", "Bolt Energy"),
        ("KOPI", "20.00", "Kopi Nusantara"),
        ("DUCK", "5.00", "Duck Foods"),
        ("ZINC", "8.00", "Zinc Mining"),
    ]
    companies = {ticker: make_company(ticker, price, name=name) for ticker, price, name in listed}
    schools = [
        ("Bull Riders", "SMA 1 Bandung"),
        ("Bear Necessities", "SMA 2 Jakarta"),
        ("Blue Chips", "SMA 1 Bandung"),
        ("Golden Geese", "SMA 3 Surabaya"),
        ("Night Owls", "SMA 2 Jakarta"),
    ]
    teams = {name: make_team(name, school=school) for name, school in schools}
    market_open(by=None)
    for name, ticker, quantity in [
        ("Bull Riders", "ACME", 2000),
        ("Bear Necessities", "BOLT", 4000),
        ("Blue Chips", "KOPI", 1000),
        ("Night Owls", "DUCK", 3000),
    ]:
        trade_execute(participant=teams[name], company=companies[ticker], side="buy", quantity=quantity)
    for ticker, price in [("ACME", "12.50"), ("BOLT", "3.15"), ("KOPI", "21.00"), ("DUCK", "5.40"), ("ZINC", "7.60")]:
        price_set(company=companies[ticker], price=Decimal(price), by=None)
    # Values: Bull Riders 105,000 · Night Owls 101,200 · Blue Chips 101,000 · Golden Geese 100,000 ·
    # Bear Necessities 98,600 (each started with 100,000).
    news_create(
        by=None,
        title="Acme wins the city's robot contract",
        content="The city picked Acme Robotics to run its parcel lockers.\nThe shares jumped a quarter by noon.",
        published_at=timezone.now(),
    )
    return Token.objects.create(user=admin_user).key


def take(server, key: str, scene: str, **options) -> dict:
    """A take as the control room makes it: POST /api/admin/scene with an organiser's token."""
    return api(server, key, "POST", "/api/admin/scene", {"scene": scene, "options": options})


def still(page) -> None:
    """Waits until nothing moves but the endless ticker tape: what a screenshot should catch."""
    page.wait_for_function(
        """() => document.getAnimations()
            .filter((a) => a.effect.getComputedTiming().iterations !== Infinity)
            .every((a) => a.playState === 'finished')"""
    )


def shown(page, scene: str, timeout: float = 5000) -> None:
    """Waits until `scene` is on and its cross-fade is over."""
    page.wait_for_function(
        "scene => document.body.dataset.scene === scene && document.body.dataset.settled === '1'",
        arg=scene,
        timeout=timeout,
    )
    still(page)


def rows(page, selector: str, fields: list[str]) -> list[list[str]]:
    """The text of each row's cells, as a viewer reads them."""
    return page.evaluate(
        """([selector, fields]) => [...document.querySelectorAll(selector)].map((row) =>
            fields.map((field) => (row.querySelector('.' + field) || {textContent: ''}).textContent))""",
        [selector, fields],
    )


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def assert_transparent(page) -> None:
    look = page.evaluate(
        """() => ({
            html: getComputedStyle(document.documentElement).backgroundColor,
            body: getComputedStyle(document.body).backgroundColor,
            scrolls: document.documentElement.scrollWidth > innerWidth
                || document.documentElement.scrollHeight > innerHeight,
        })"""
    )
    assert look == {"html": "rgba(0, 0, 0, 0)", "body": "rgba(0, 0, 0, 0)", "scrolls": False}


def screenshot(page, name: str, tmp_path) -> None:
    """docs/screenshots/scene-<name>.png when SAVE_SCREENSHOTS=1 (transparent where the page is)."""
    still(page)  # a place just revealed may still be rising
    shot = tmp_path / f"scene-{name}.png"
    page.screenshot(path=str(shot), omit_background=True)
    assert shot.stat().st_size > 1000
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / shot.name)


def scene_text(page, scene: str) -> str:
    return text(page, f'#director .scene[data-scene="{scene}"]')


# Each scene as the audience sees it


def test_the_market_scene_is_the_default_and_shows_the_market_layout(open_page, server, show, tmp_path):
    page = open_page(server)
    shown(page, "market")
    assert page.locator("#leaderboard li").count() == 5
    assert text(page, "#news [data-role=headline]") == "Acme wins the city's robot contract"
    assert page.locator("#director .scene:visible").count() == 0
    assert_transparent(page)
    screenshot(page, "market", tmp_path)


def test_the_leaderboard_fills_the_screen_with_the_top_n_and_follows_the_live_values(open_page, server, show, tmp_path):
    scene_take(by=None, scene="leaderboard", options={"top": 4})
    page = open_page(server)
    shown(page, "leaderboard")
    board = '#director .scene[data-scene="leaderboard"] li'
    assert rows(page, board, ["rank", "name", "school", "value", "return"]) == [
        ["1", "Bull Riders", "SMA 1 Bandung", "IDR 105,000.00", "▲ 5.00%"],
        ["2", "Night Owls", "SMA 2 Jakarta", "IDR 101,200.00", "▲ 1.20%"],
        ["3", "Blue Chips", "SMA 1 Bandung", "IDR 101,000.00", "▲ 1.00%"],
        ["4", "Golden Geese", "SMA 3 Surabaya", "IDR 100,000.00", "■ 0.00%"],
    ]
    assert text(page, '#director [data-scene="leaderboard"] .scene-head') == "Leaderboard\nTop 4"
    # The market layout's own leaderboard is gone under it, names and all.
    assert page.locator("#leaderboard li").count() == 0
    assert page.locator("#status").is_visible() and page.locator("#ticker").is_visible()
    assert_transparent(page)
    screenshot(page, "leaderboard", tmp_path)

    # Bolt climbs: Bear Necessities (4,000 shares) rises to second, Golden Geese falls off the top four.
    bolt = next(c for c in api(server, show, "GET", "/api/admin/companies")["results"] if c["ticker"] == "BOLT")
    api(server, show, "PATCH", f"/api/admin/companies/{bolt['id']}", {"current_price": "4.00"})
    page.wait_for_function(
        """() => [...document.querySelectorAll('#director [data-scene="leaderboard"] li .name')]
            .map((n) => n.textContent).join() === 'Bull Riders,Bear Necessities,Night Owls,Blue Chips'""",
        timeout=LIVE_MS,
    )
    assert rows(page, board, ["rank", "value"])[1] == ["2", "IDR 102,000.00"]


def test_the_leaderboard_in_the_light_theme(open_page, server, show, tmp_path):
    scene_take(by=None, scene="leaderboard", options={"top": 10})
    page = open_page(server, "&theme=light")
    shown(page, "leaderboard")
    assert page.locator('#director [data-scene="leaderboard"] li').count() == 5
    assert_transparent(page)
    screenshot(page, "leaderboard-light", tmp_path)


def test_the_news_scene_shows_one_item_full_screen_as_breaking(open_page, server, show, tmp_path):
    scene_take(by=None, scene="news")
    page = open_page(server)
    shown(page, "news")
    scene = '#director .scene[data-scene="news"]'
    assert text(page, f"{scene} .breaking").upper() == "BREAKING"
    assert text(page, f"{scene} .headline") == "Acme wins the city's robot contract"
    assert text(page, f"{scene} .story") == (
        "The city picked Acme Robotics to run its parcel lockers.\nThe shares jumped a quarter by noon."
    )
    assert re.fullmatch(r"\d\d:\d\d", text(page, f"{scene} .when"))
    assert page.locator("#news").is_hidden()  # no lower-third under it
    assert_transparent(page)
    screenshot(page, "news", tmp_path)


def test_the_countdown_counts_down_to_a_time_with_its_title(open_page, server, show, tmp_path):
    at = (timezone.now() + timedelta(hours=2)).astimezone(ZoneInfo(settings.EVENT_TIMEZONE))
    scene_take(by=None, scene="countdown", options={"to": at.strftime("%Y-%m-%d %H:%M"), "title": "Day 2 starts"})
    page = open_page(server)
    shown(page, "countdown")
    scene = '#director .scene[data-scene="countdown"]'
    assert text(page, f"{scene} .title") == "Day 2 starts"
    shown_at = text(page, f"{scene} .at")  # "at 10:00", or with its date when it is not today
    assert shown_at.startswith("at ") and shown_at.endswith(f"{at:%H:%M}"), shown_at
    left = text(page, f"{scene} .left")
    hours, minutes, seconds = (int(part) for part in left.split(":"))
    expected = at.replace(second=0, microsecond=0) - timezone.now()
    assert abs(hours * 3600 + minutes * 60 + seconds - expected.total_seconds()) < 3, left
    page.wait_for_function(f"() => document.querySelector('{scene} .left').textContent !== '{left}'", timeout=2500)
    assert_transparent(page)
    screenshot(page, "countdown", tmp_path)


def test_the_countdown_to_the_next_bell_says_when_none_is_known(open_page, server, show, tmp_path):
    day = TradingDay.objects.get(opened_at__isnull=False, closed_at__isnull=True)
    day.scheduled_close_at = timezone.now() + timedelta(minutes=30)
    day.save()
    take(server, show, "countdown", to="bell")
    page = open_page(server, "&theme=light")
    shown(page, "countdown")
    scene = '#director .scene[data-scene="countdown"]'
    assert text(page, f"{scene} .title") == "Trading closes"
    assert text(page, f"{scene} .left").startswith(("29:", "30:00"))
    screenshot(page, "countdown-light", tmp_path)

    day.scheduled_close_at = None  # the close is now rung by hand: the page learns it on its next snapshot
    day.save()
    page.reload()
    shown(page, "countdown")
    assert text(page, f"{scene} .left") == "Next bell to be announced"
    assert text(page, f"{scene} .at") == ""


def test_a_countdown_to_the_bell_says_it_rang_when_it_rings(open_page, server, show):
    day = TradingDay.objects.get(opened_at__isnull=False, closed_at__isnull=True)
    day.scheduled_close_at = timezone.now() + timedelta(minutes=30)
    day.save()
    take(server, show, "countdown", to="bell")
    page = open_page(server)
    shown(page, "countdown")
    scene = '#director .scene[data-scene="countdown"]'

    api(server, show, "POST", "/api/admin/market/close")  # rung early, by hand

    page.wait_for_function(f"() => document.querySelector('{scene} .left').textContent === 'Trading is closed'")
    assert text(page, f"{scene} .at") == ""

    page.reload()  # a page loaded after it counts to the bell after that one: none is set yet
    shown(page, "countdown")
    assert text(page, f"{scene} .left") == "Next bell to be announced"


def test_the_movers_scene_shows_the_days_gainers_and_losers(open_page, server, show, tmp_path):
    scene_take(by=None, scene="movers", options={"count": 3})
    page = open_page(server)
    shown(page, "movers")
    fields = ["symbol", "name", "price", "change"]
    assert rows(page, '#director [data-scene="movers"] [data-role=gainers] li', fields) == [
        ["ACME", "Acme Robotics", "12.50", "▲ 25.00%"],
        ["DUCK", "Duck Foods", "5.40", "▲ 8.00%"],
        ["KOPI", "Kopi Nusantara", "21.00", "▲ 5.00%"],
    ]
    assert rows(page, '#director [data-scene="movers"] [data-role=losers] li', fields) == [
        ["BOLT", "Bolt Energy", "3.15", "▼ 10.00%"],
        ["ZINC", "Zinc Mining", "7.60", "▼ 5.00%"],
    ]
    gain, loss = page.evaluate(
        """() => ['gainers', 'losers'].map((list) => getComputedStyle(
            document.querySelector(`[data-role=${list}] li .change`)).color)"""
    )
    assert gain != loss
    assert_transparent(page)
    screenshot(page, "movers", tmp_path)


def test_the_movers_in_the_light_theme(open_page, server, show, tmp_path):
    scene_take(by=None, scene="movers")
    page = open_page(server, "&theme=light")
    shown(page, "movers")
    assert page.locator('#director [data-scene="movers"] [data-role=gainers] li').count() == 3
    assert_transparent(page)
    screenshot(page, "movers-light", tmp_path)


def test_the_schools_scene_ranks_the_schools(open_page, server, show, tmp_path):
    scene_take(by=None, scene="schools")
    page = open_page(server)
    shown(page, "schools")
    scene = '#director .scene[data-scene="schools"]'
    assert rows(page, f"{scene} .row.heading", ["rank", "school", "teams", "average", "combined", "best"]) == [
        ["#", "School", "Teams", "Average return", "Combined return", "Best team"]
    ]
    fields = ["rank", "school", "teams", "average", "combined", "name", "return"]
    assert rows(page, f"{scene} [data-role=rows] .row", fields) == [
        ["1", "SMA 1 Bandung", "2", "▲ 3.00%", "▲ 3.00%", "Bull Riders", "▲ 5.00%"],
        ["2", "SMA 3 Surabaya", "1", "■ 0.00%", "■ 0.00%", "Golden Geese", "■ 0.00%"],
        ["3", "SMA 2 Jakarta", "2", "▼ 0.10%", "▼ 0.10%", "Night Owls", "▲ 1.20%"],
    ]
    assert_transparent(page)
    screenshot(page, "schools", tmp_path)


# The results ceremony


def names_in(page) -> set[str]:
    """The podium teams' names anywhere in the page: its markup, hidden parts and all."""
    markup = page.content()
    return {name for name in PODIUM if name in markup}


def test_the_podium_reveals_third_then_second_then_first_and_holds_no_name_before_its_reveal(
    open_page, server, show, tmp_path
):
    scene_take(by=None, scene="podium", options={"revealed": 0})
    page = open_page(server)
    shown(page, "podium")
    slots = '#director .scene[data-scene="podium"] .slot'
    # Second, first, third side by side, each covered until revealed.
    assert rows(page, slots, ["step"]) == [["2nd"], ["1st"], ["3rd"]]
    assert page.locator(f"{slots}.covered").count() == 3
    assert names_in(page) == set()
    assert page.locator("#status").is_hidden() and page.locator("#ticker").is_hidden()
    assert_transparent(page)
    screenshot(page, "podium-covered", tmp_path)

    expected = {
        3: ["Blue Chips", "SMA 1 Bandung", "IDR 101,000.00", "▲ 1.00%"],
        2: ["Night Owls", "SMA 2 Jakarta", "IDR 101,200.00", "▲ 1.20%"],
        1: ["Bull Riders", "SMA 1 Bandung", "IDR 105,000.00", "▲ 5.00%"],
    }
    for revealed, place in [(1, 3), (2, 2), (3, 1)]:
        take(server, show, "podium", revealed=revealed)
        page.wait_for_selector(f'{slots}.revealed[data-place="{place}"]', timeout=TAKE_MS)
        assert rows(page, f'{slots}[data-place="{place}"]', ["name", "school", "value", "return"]) == [expected[place]]
        # The place just revealed animates in; the ones before stay as they were.
        assert page.locator(f"{slots}.revealing").evaluate_all("slots => slots.map((s) => s.dataset.place)") == [
            str(place)
        ]
        assert page.locator(f"{slots}.covered").count() == 3 - revealed
        assert names_in(page) == {expected[p][0] for p in (3, 2, 1)[:revealed]}
        if revealed == 2:
            screenshot(page, "podium", tmp_path)

    # Loaded afresh, the whole podium stands at once.
    light = open_page(server, "&theme=light")
    shown(light, "podium")
    assert rows(light, f"{slots}.revealed", ["name"]) == [["Night Owls"], ["Bull Riders"], ["Blue Chips"]]
    assert light.locator(f"{slots}.revealing").count() == 0
    assert_transparent(light)
    screenshot(light, "podium-light", tmp_path)


# Takes, reloads and the preview


def test_a_take_reaches_two_open_pages_within_a_second_and_survives_a_reload(open_page, server, show):
    first, second = open_page(server), open_page(server)
    shown(first, "market")
    shown(second, "market")

    started = time.monotonic()
    take(server, show, "leaderboard", top=3)
    for page in (first, second):
        left = max(1, TAKE_MS - (time.monotonic() - started) * 1000)
        page.wait_for_function("() => document.body.dataset.scene === 'leaderboard'", timeout=left)
    for page in (first, second):
        shown(page, "leaderboard")
        assert rows(page, '#director [data-scene="leaderboard"] li', ["name"]) == [[name] for name in PODIUM]
        assert page.locator("#leaderboard").is_hidden()

    first.reload()
    shown(first, "leaderboard")
    assert rows(first, '#director [data-scene="leaderboard"] li', ["name"]) == [[name] for name in PODIUM]

    take(server, show, "market")  # and back
    shown(second, "market")
    assert second.locator("#leaderboard li").count() == 5
    assert second.locator('#director .scene[data-scene="leaderboard"] li').count() == 0


def payload(scene: str, **options) -> dict:
    """What the director panel sends its preview: the payload of a take, as JSON carries it."""
    return json.loads(json.dumps(live.payload(*scenes.clean(scene, options)), cls=DjangoJSONEncoder))


def test_the_preview_draws_the_scene_its_panel_sends_and_no_live_take(open_page, server, show):
    scene_take(by=None, scene="leaderboard", options={"top": 3})
    # The control room's panel, in short: a page of the same site framing the preview.
    panel = open_page(server, "&theme=light")  # any page of the site will do as the frame's parent
    shown(panel, "leaderboard")
    panel.evaluate(
        """(src) => new Promise((ready) => {
            addEventListener('message', (event) => event.data.type === 'brainstorm-scene-preview-ready' && ready());
            const frame = document.createElement('iframe');
            frame.id = 'preview';
            frame.src = src;
            frame.style.cssText = 'position:absolute;inset:0;width:1920px;height:1080px;border:0';
            document.body.append(frame);
        })""",
        f"/overlay/?token={TOKEN}&preview=1",
    )
    preview = panel.frame_locator("#preview")
    frame = next(f for f in panel.frames if "preview=1" in f.url)
    shown(frame, "leaderboard")  # until its panel sends one, the current scene
    assert frame.evaluate("() => document.body.dataset.sound") == "0"

    panel.evaluate(
        "(scene) => document.getElementById('preview').contentWindow"
        ".postMessage({type: 'brainstorm-scene-preview', scene}, location.origin)",
        payload("podium", revealed=1),
    )
    shown(frame, "podium")
    assert preview.locator('.slot.revealed[data-place="3"] .name').inner_text() == "Blue Chips"
    assert preview.locator(".slot.covered").count() == 2

    # A message from elsewhere is not the panel's.
    frame.evaluate(
        """(scene) => dispatchEvent(new MessageEvent('message', {
            origin: 'https://elsewhere.example', data: {type: 'brainstorm-scene-preview', scene}}))""",
        payload("news"),
    )

    # A live take reaches the stream's pages, not the preview.
    stream = open_page(server)
    shown(stream, "leaderboard")
    take(server, show, "schools")
    shown(stream, "schools", timeout=TAKE_MS + 500)
    frame.wait_for_timeout(300)  # the same event, on the preview's own socket
    assert frame.evaluate("() => document.body.dataset.scene") == "podium"

    # Nor does its socket's next snapshot; the market data stays live.
    acme = next(c for c in api(server, show, "GET", "/api/admin/companies")["results"] if c["ticker"] == "ACME")
    api(server, show, "PATCH", f"/api/admin/companies/{acme['id']}", {"current_price": "13.00"})
    frame.wait_for_function(
        "() => document.querySelector('#ticker .quote[data-ticker=\"ACME\"] .price').textContent === '13.00'",
        timeout=LIVE_MS,
    )
    frame.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")  # a resync: a fresh snapshot
    frame.wait_for_function("() => document.body.dataset.online === '0'")
    frame.wait_for_function("() => document.body.dataset.online === '1'")
    assert frame.evaluate("() => document.body.dataset.scene") == "podium"

    # The next message replaces the scene it shows.
    panel.evaluate(
        "(scene) => document.getElementById('preview').contentWindow"
        ".postMessage({type: 'brainstorm-scene-preview', scene}, location.origin)",
        payload("podium", revealed=2),
    )
    preview.locator('.slot.revealing[data-place="2"]').wait_for()
    assert preview.locator(".slot.covered").count() == 1


def test_with_reduced_motion_a_scene_only_fades_in_briefly(open_page, server, show):
    page = open_page(server, reduced_motion="reduce")
    shown(page, "market")
    take(server, show, "news")
    page.wait_for_function("() => document.body.dataset.scene === 'news'", timeout=TAKE_MS)
    motion = page.evaluate(
        """() => ({
            fade: getComputedStyle(document.documentElement).getPropertyValue('--fade').trim(),
            transform: getComputedStyle(document.querySelector('#director [data-scene="news"]')).transform,
        })"""
    )
    assert motion == {"fade": "200ms", "transform": "none"}
    shown(page, "news")
