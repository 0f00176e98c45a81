"""The control room: the organisers' one page for the event day, staff only, every action a
service call answered with a redirect and a message."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, override_settings
from django.utils import timezone

from market import services
from market.models import AuditEntry, Company, Participant, PricePoint, TradingDay, Transaction
from newsroom.models import News
from overlay import presence

pytestmark = pytest.mark.django_db

ROOM = "/admin/control-room/"


@pytest.fixture
def organiser(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def said(response) -> list[tuple[str, str]]:
    """The messages the redirected page shows: (level, text)."""
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def post(client: Client, action: str, data: dict) -> object:
    """POST to an action and follow its redirect back to the control room."""
    response = client.post(f"{ROOM}{action}", data)
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(ROOM)
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page


def board(*companies: Company, **prices: str) -> dict:
    """The price board as drawn now, with the given tickers' prices typed over."""
    data = {}
    for company in companies:
        company.refresh_from_db()
        data[f"price_{company.pk}"] = prices.get(company.ticker, str(company.current_price))
        data[f"drawn_{company.pk}"] = str(company.current_price)
    return data


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


# Who may use it


def test_a_team_or_a_stranger_is_sent_to_the_admin_sign_in(client, team, company):
    for signed_in in (None, team.user):
        if signed_in:
            client.force_login(signed_in)
        for method, path in [("get", ""), ("get", "counts"), ("post", "bell"), ("post", "prices"), ("post", "reverse")]:
            response = getattr(client, method)(f"{ROOM}{path}", {"action": "open", "seen_day": "0", "confirm": "on"})
            assert response.status_code == 302, path
            assert response["Location"].startswith("/admin/login/"), path
    assert not TradingDay.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(admin_user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)

    response = strict.post(f"{ROOM}bell", {"action": "open", "seen_day": "0", "confirm": "on"})

    assert response.status_code == 403
    assert not TradingDay.objects.exists()


def test_every_admin_page_links_to_the_control_room(organiser):
    for path in ["/admin/", "/admin/market/company/"]:
        assert 'href="/admin/control-room/"' in organiser.get(path).content.decode()


def test_the_page_looks_like_the_admin_and_runs_no_inline_script(organiser, company):
    page = organiser.get(ROOM).content.decode()

    assert '<div id="site-name">' in page
    assert "<h1>Control room</h1>" in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all("src=" in tag for tag in scripts)
    assert '<script type="module" src="/static/control/control.js">' in page
    assert not re.search(r"\son[a-z]+=", page)


# The bell


def test_the_day_opens_only_once_the_organiser_ticks_i_am_sure(organiser, admin_user):
    unsure = post(organiser, "bell", {"action": "open", "seen_day": "0"})

    assert not TradingDay.objects.exists()
    assert said(unsure) == [("error", "The bell did not ring: Tick “I am sure” to ring the bell.")]
    assert "Tick “I am sure” to ring the bell." in text(unsure)  # beside the checkbox too

    sure = post(organiser, "bell", {"action": "open", "seen_day": "0", "confirm": "on"})

    day = TradingDay.objects.get()
    assert day.is_open
    assert said(sure) == [("success", "Day 1 is open: teams can trade.")]
    assert AuditEntry.objects.get(action="market_open").actor == admin_user
    assert "Close day 1" in text(sure)


def test_the_day_closes_only_once_the_organiser_ticks_i_am_sure(organiser, open_market):
    unsure = post(organiser, "bell", {"action": "close", "seen_day": "1", "confirm": ""})
    assert TradingDay.objects.get().is_open
    assert said(unsure)[0][0] == "error"

    sure = post(organiser, "bell", {"action": "close", "seen_day": "1", "confirm": "on"})

    assert not TradingDay.objects.get().is_open
    assert said(sure) == [("success", "Day 1 is closed: closing prices and team values are kept.")]
    assert "Open the next trading day" in text(sure)


def test_a_bell_rung_twice_from_a_stale_page_is_refused_in_words(organiser, open_market):
    again = post(organiser, "bell", {"action": "open", "seen_day": "0", "confirm": "on"})
    assert said(again) == [
        ("error", "The bell did not ring: the market changed since this page was drawn (day 1 is open).")
    ]

    services.market_close(by=None)
    closed_twice = post(organiser, "bell", {"action": "close", "seen_day": "1", "confirm": "on"})
    assert said(closed_twice) == [
        ("error", "The bell did not ring: the market changed since this page was drawn (day 1 is closed).")
    ]
    assert TradingDay.objects.count() == 1


def test_a_page_drawn_before_another_organiser_rang_twice_closes_nothing(organiser, open_market):
    page = organiser.get(ROOM)
    seen = re.search(r'name="seen_day" value="(\d+)"', page.content.decode()).group(1)
    services.market_close(by=None)  # another organiser closes day 1…
    services.market_open(by=None)  # …and opens day 2

    late = post(organiser, "bell", {"action": "close", "seen_day": seen, "confirm": "on"})

    assert said(late)[0][0] == "error"
    assert TradingDay.objects.get(number=2).is_open  # day 2 goes on


def test_the_bell_refuses_an_unknown_action(organiser):
    page = post(organiser, "bell", {"action": "explode", "confirm": "on"})
    assert said(page)[0][0] == "error"
    assert not TradingDay.objects.exists()


# The price board


@pytest.fixture
def listed(make_company):
    return [make_company("ACME", "10.00"), make_company("BOLT", "3.00"), make_company("CRUX", "250.00")]


def test_the_board_changes_only_the_prices_that_changed(
    organiser, admin_user, listed, monkeypatch, django_capture_on_commit_callbacks
):
    bolt = listed[1]
    touched = {c.ticker: Company.objects.get(pk=c.pk).updated_at for c in listed}
    sent = []
    monkeypatch.setattr("overlay.events.send_now", lambda event, **where: sent.append(event))

    with django_capture_on_commit_callbacks(execute=True):
        page = post(organiser, "prices", board(*listed, ACME="12.50", CRUX="240"))

    prices = dict(Company.objects.values_list("ticker", "current_price"))
    assert prices == {"ACME": Decimal("12.50"), "BOLT": Decimal("3.00"), "CRUX": Decimal("240.00")}
    assert said(page) == [("success", "New prices: ACME 12.50, CRUX 240.00.")]
    points = {c.ticker: list(PricePoint.objects.filter(company=c).values_list("price", flat=True)) for c in listed}
    assert points == {
        "ACME": [Decimal("10.00"), Decimal("12.50")],
        "BOLT": [Decimal("3.00")],
        "CRUX": [Decimal("250.00"), Decimal("240.00")],
    }
    audits = AuditEntry.objects.filter(action="price_set").order_by("target")
    assert [(a.target, a.data["new"], a.actor) for a in audits] == [
        ("company:ACME", "12.50", admin_user),
        ("company:CRUX", "240.00", admin_user),
    ]
    assert Company.objects.get(pk=bolt.pk).updated_at == touched["BOLT"]
    assert sorted(e["data"]["ticker"] for e in sent if e["type"] == "price") == ["ACME", "CRUX"]


def test_the_board_revalues_the_holders(organiser, listed, team, open_market):
    acme = listed[0]
    services.trade_execute(participant=team, company=acme, side="buy", quantity=10)

    post(organiser, "prices", board(*listed, ACME="15.00"))

    team.refresh_from_db()
    assert team.portfolio_value == team.cash + 10 * Decimal("15.00")


def test_a_price_someone_else_changed_since_the_page_was_drawn_is_skipped_and_named(organiser, listed):
    acme = listed[0]
    drawn = board(*listed, ACME="12.00", BOLT="4.00")
    services.price_set(company=acme, price=Decimal("11.00"), by=None)  # another organiser, meanwhile

    page = post(organiser, "prices", drawn)

    prices = dict(Company.objects.values_list("ticker", "current_price"))
    assert prices == {"ACME": Decimal("11.00"), "BOLT": Decimal("4.00"), "CRUX": Decimal("250.00")}
    assert said(page) == [
        ("success", "New prices: BOLT 4.00."),
        (
            "warning",
            "Not changed, because someone else changed the price since this page was drawn: ACME (now 11.00). "
            "Check the new price and submit again if it still needs changing.",
        ),
    ]
    assert PricePoint.objects.filter(company=acme).count() == 2  # the listing and the other organiser's


def test_invalid_prices_are_shown_beside_their_input_and_nothing_changes(organiser, listed):
    acme, bolt, crux = listed

    page = post(organiser, "prices", board(*listed, ACME="ten", BOLT="4.00", CRUX="0"))

    assert dict(Company.objects.values_list("ticker", "current_price")) == {
        "ACME": Decimal("10.00"),
        "BOLT": Decimal("3.00"),
        "CRUX": Decimal("250.00"),
    }
    assert not AuditEntry.objects.filter(action="price_set").exists()
    assert said(page) == [("error", "No price was changed: correct the prices marked below and submit again.")]
    html = text(page)
    acme_cell = re.search(rf'name="price_{acme.pk}" value="ten".*?</td>', html).group(0)
    assert "Enter a number." in acme_cell
    crux_cell = re.search(rf'name="price_{crux.pk}" value="0".*?</td>', html).group(0)
    assert "greater than or equal to 0.01" in crux_cell
    assert f'name="price_{bolt.pk}" value="4.00"' in html  # what the organiser typed, kept

    # The next visit shows the board afresh.
    assert "Enter a number." not in text(organiser.get(ROOM))


def test_a_board_with_nothing_changed_says_so(organiser, listed):
    page = post(organiser, "prices", board(*listed))
    assert said(page) == [("info", "No price was different: nothing changed.")]
    assert PricePoint.objects.count() == 3


# News


def test_news_published_now_is_public_at_once(organiser, admin_user):
    page = post(organiser, "news", {"title": "Acme wins a contract", "content": "A big one.", "publish_at": ""})

    item = News.objects.get()
    assert (item.title, item.status, item.created_by) == ("Acme wins a contract", "published", admin_user)
    assert item.announced_at is not None
    assert said(page) == [("success", "Published “Acme wins a contract”: it is on every screen now.")]


def test_news_scheduled_for_later_waits_for_its_time(organiser, team):
    from organisers.models import Cue
    from organisers.runsheet.services import cues_fire_due

    later = timezone.localtime() + timedelta(hours=2)

    page = post(
        organiser, "news", {"title": "Results", "content": "Soon.", "publish_at": later.strftime("%Y-%m-%dT%H:%M")}
    )

    # A draft waiting for its news cue on the run sheet: nothing a team could see until it fires.
    draft = News.objects.get()
    assert (draft.title, draft.status) == ("Results", "draft")
    cue = Cue.objects.get()
    assert cue.news == draft
    assert (cue.action, cue.day, cue.data) == ("news", 1, {"title": "Results", "content": "Soon."})
    assert cue.due_at == later.replace(second=0, microsecond=0)
    assert said(page) == [
        (
            "success",
            f"Scheduled “Results” for {later:%-d %b %Y %H:%M} (Asia/Jakarta): a news cue of day 1 on the run sheet, "
            "published when it fires.",
        )
    ]
    reader = Client()
    reader.force_login(team.user)
    assert "Results" not in text(reader.get("/news/"))

    cues_fire_due(now=cue.due_at)  # the scheduler, at its time

    item = News.objects.get()
    assert item.status == "published"
    assert item.announced_at is not None
    assert "Results" in text(reader.get("/news/"))


def test_news_with_a_past_time_or_no_title_is_refused_beside_the_field(organiser):
    earlier = timezone.localtime() - timedelta(minutes=5)

    page = post(organiser, "news", {"title": "", "content": "Text", "publish_at": earlier.strftime("%Y-%m-%dT%H:%M")})

    assert not News.objects.exists()
    assert said(page) == [("error", "The news was not saved: correct the form below.")]
    html = text(page)
    assert "This field is required." in html
    assert "Pick a time in the future, or leave it empty to publish now." in html
    assert re.search(r">\s*Text</textarea>", html)  # what was typed is kept


# Freezing


def test_a_team_is_frozen_and_unfrozen_by_name(organiser, team, other_team, admin_user):
    frozen = post(organiser, "freeze", {"team": "  bull riders ", "frozen": "1"})

    team.refresh_from_db()
    assert team.is_frozen
    assert said(frozen) == [("success", "Bull Riders is frozen: it cannot trade until you unfreeze it.")]
    assert AuditEntry.objects.get(action="participant_freeze").actor == admin_user
    other_team.refresh_from_db()
    assert not other_team.is_frozen
    assert "Frozen now" in text(frozen) and "Bull Riders" in text(frozen).split("Frozen now")[1]

    thawed = post(organiser, "freeze", {"team": "Bull Riders", "frozen": "0"})

    team.refresh_from_db()
    assert not team.is_frozen
    assert said(thawed) == [("success", "Bull Riders is unfrozen: it can trade again.")]


def test_freezing_an_unknown_or_already_frozen_team_changes_nothing(organiser, team):
    unknown = post(organiser, "freeze", {"team": "Nobody", "frozen": "1"})
    assert said(unknown) == [("error", "Nothing changed: No team is called “Nobody”.")]
    assert not Participant.objects.filter(is_frozen=True).exists()

    services.participant_freeze(participant=team, by=None)
    again = post(organiser, "freeze", {"team": "Bull Riders", "frozen": "1"})
    assert said(again) == [("info", "Bull Riders was already frozen.")]
    assert AuditEntry.objects.filter(action="participant_freeze").count() == 1


def test_the_team_list_offers_every_team_name(organiser, team, other_team):
    html = organiser.get(ROOM).content.decode()
    assert (
        '<datalist id="team-names"><option value="Bear Necessities"></option><option value="Bull Riders"></option>'
        in html
    )


# Reversal


def test_a_trade_is_reversed_from_the_latest_trades(organiser, admin_user, company, team, other_team, open_market):
    bought = services.trade_execute(participant=team, company=company, side="buy", quantity=10).transaction
    services.trade_execute(participant=other_team, company=company, side="buy", quantity=5)
    outsider_cash = Participant.objects.get(pk=other_team.pk).cash
    listed = text(organiser.get(ROOM))
    assert f'name="trade" value="{bought.pk}"' in listed

    page = post(organiser, "reverse", {"trade": str(bought.pk), "reason": "Ordered twice by mistake"})

    bought.refresh_from_db()
    assert bought.reversed_at is not None and bought.reversed_by == admin_user
    team.refresh_from_db()
    assert team.cash == team.starting_cash
    assert Participant.objects.get(pk=other_team.pk).cash == outsider_cash
    assert said(page) == [
        (
            "success",
            "Reversed Bull Riders’s buy of 10 ACME at 10.00 (day 1): its cash and shares are as if it never happened.",
        )
    ]
    html = text(page)
    assert "reversed</span>" in html and "Ordered twice by mistake" in html
    assert f'name="trade" value="{bought.pk}"' not in html  # no second reverse button


def test_a_refused_reversal_is_explained_and_changes_nothing(organiser, company, team, open_market):
    bought = services.trade_execute(participant=team, company=company, side="buy", quantity=10).transaction
    services.trade_execute(participant=team, company=company, side="sell", quantity=10)
    team.refresh_from_db()
    cash = team.cash

    page = post(organiser, "reverse", {"trade": str(bought.pk), "reason": "Bug"})

    assert said(page) == [
        ("error", "The trade was not reversed: Bull Riders holds 0 ACME now; reversing this buy would take away 10.")
    ]
    team.refresh_from_db()
    assert team.cash == cash
    assert Transaction.objects.filter(reversed_at__isnull=False).count() == 0

    no_reason = post(organiser, "reverse", {"trade": str(bought.pk), "reason": ""})
    assert said(no_reason) == [("error", "The trade was not reversed: Say why the trade is reversed.")]
    gone = post(organiser, "reverse", {"trade": "00000000-0000-0000-0000-000000000000", "reason": "Bug"})
    assert said(gone) == [("error", "The trade was not reversed: it no longer exists.")]


def test_the_latest_trades_can_be_narrowed_to_one_team(organiser, company, team, other_team, open_market):
    mine = services.trade_execute(participant=team, company=company, side="buy", quantity=1).transaction
    theirs = services.trade_execute(participant=other_team, company=company, side="buy", quantity=1).transaction

    html = organiser.get(ROOM, {"team": "bull"}).content.decode()

    assert str(mine.pk) in html
    assert str(theirs.pk) not in html


# Live counts


def test_the_counts_match_the_teams_online_and_the_trades_of_the_day(organiser, make_team, company, admin_user):
    teams = [make_team(f"Team {n}") for n in range(4)]
    services.market_open(by=None)
    services.trade_execute(participant=teams[0], company=company, side="buy", quantity=5)  # day 1
    services.market_close(by=None)
    services.market_open(by=None)  # day 2: "today"
    kept = services.trade_execute(participant=teams[0], company=company, side="buy", quantity=3).transaction  # 30.00
    services.trade_execute(participant=teams[1], company=company, side="buy", quantity=2)  # 20.00
    undone = services.trade_execute(participant=teams[2], company=company, side="buy", quantity=7).transaction
    services.trade_reverse(trade=undone, by=admin_user, reason="Duplicate")
    for team in teams[:2]:
        async_to_sync(presence.socket_opened)(team.user_id)
    async_to_sync(presence.socket_opened)(admin_user.pk)  # an organiser is not a team

    response = organiser.get(f"{ROOM}counts")

    assert response.status_code == 200
    assert response.json() == {
        "market": "open",
        "day": 2,
        "teams": 4,
        "teams_online": 2,
        "trades_today": 2,
        "volume_today": "50.00",
        "open_orders": 0,
    }
    assert kept.day == 2
    html = text(organiser.get(ROOM))
    assert '<span data-count="teams_online">2</span>' in html
    assert '<dd data-count="volume_today">50.00</dd>' in html


def test_the_counts_are_zero_before_the_first_day(organiser, team):
    assert organiser.get(f"{ROOM}counts").json() == {
        "market": "closed",
        "day": 0,
        "teams": 1,
        "teams_online": 0,
        "trades_today": 0,
        "volume_today": "0.00",
        "open_orders": 0,
    }


# Overlay URLs


def test_the_overlay_urls_carry_the_token_ready_to_copy(organiser):
    html = organiser.get(ROOM).content.decode()

    for path in ["/overlay/", "/overlay/ticker", "/overlay/leaderboard", "/overlay/news", "/overlay/bell"]:
        assert f'value="http://testserver{path}?token=test-overlay-token" readonly' in html
    assert 'data-copy="overlay-scene" hidden>Copy</button>' in html


@override_settings(OVERLAY_TOKEN="")
def test_without_a_token_the_page_says_how_to_set_one(organiser):
    html = text(organiser.get(ROOM))

    assert "?token=" not in html
    assert "The overlay token is not set" in html
    assert "Set OVERLAY_TOKEN" in re.sub(r"</?code>", "", html)


# In a real browser


@pytest.mark.sqlite  # the page is the same on both databases
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_counts_follow_a_team_coming_online_and_leaving(
    browser, server, admin_user, team, make_company, open_market
):
    services.trade_execute(participant=team, company=make_company("ACME", "10.00"), side="buy", quantity=3)
    make_company("BOLT", "3.50")
    # Passwords the server can check (the suite's fast hasher is not in the server's list).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        for user in (admin_user, team.user):
            user.set_password("lantern-harbour-41")
            user.save(update_fields=["password"])
    base = f"http://127.0.0.1:{server['port']}"
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    laptop = browser.new_context(viewport={"width": 1366, "height": 900})
    errors = []
    desk.on("weberror", lambda error: errors.append(str(error.error)))
    try:
        desk.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        room = desk.new_page()
        room.goto(f"{base}{ROOM}")  # to the admin's sign-in, and back
        room.fill("#id_username", admin_user.email)
        room.fill("#id_password", "lantern-harbour-41")
        room.click("input[type=submit]")
        room.wait_for_url(f"{base}{ROOM}")
        assert room.locator('[data-count="teams_online"]').inner_text() == "0"

        market_page = laptop.new_page()
        market_page.goto(f"{base}/signin/?next=/market/")
        market_page.get_by_label("E-mail").fill(team.user.email)
        market_page.get_by_label("Password").fill("lantern-harbour-41")
        market_page.get_by_role("button", name="Sign in").click()
        market_page.wait_for_url("**/market/")
        market_page.wait_for_function("() => document.body.dataset.online === '1'", timeout=5000)
        counted = "() => document.querySelector('[data-count=teams_online]').textContent === '{}'"
        room.wait_for_function(counted.format(1), timeout=8000)  # the page polls every 5 s

        market_page.close()
        room.wait_for_function(counted.format(0), timeout=8000)

        room.locator('[data-copy="overlay-ticker"]').click()
        room.wait_for_function("() => document.querySelector('[data-copy=overlay-ticker]').textContent === 'Copied'")
        assert room.evaluate("navigator.clipboard.readText()") == f"{base}/overlay/ticker?token=test-overlay-token"
    finally:
        laptop.close()
        desk.close()
    assert errors == []


@pytest.mark.sqlite  # the page is the same on both databases
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_new_trade_appears_in_the_latest_trades_and_can_be_reversed_from_there(
    browser, server, admin_user, team, make_company, open_market
):
    from rest_framework.authtoken.models import Token

    from overlay.tests.servers import api

    make_company("ACME", "10.00")
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        admin_user.set_password("lantern-harbour-41")
        admin_user.save(update_fields=["password"])
    base = f"http://127.0.0.1:{server['port']}"
    desk = browser.new_context(viewport={"width": 1366, "height": 900})
    errors = []
    desk.on("weberror", lambda error: errors.append(str(error.error)))
    try:
        room = desk.new_page()
        room.goto(f"{base}{ROOM}")
        room.fill("#id_username", admin_user.email)
        room.fill("#id_password", "lantern-harbour-41")
        room.click("input[type=submit]")
        room.wait_for_url(f"{base}{ROOM}")
        assert "No trades" in room.locator("[data-role=trade-rows]").inner_text()
        room.wait_for_timeout(500)  # the tape's socket open

        key = Token.objects.create(user=team.user).key  # the team trades on the server, as a script
        body = {"ticker": "ACME", "type": "buy", "quantity": 7}
        trade = Transaction.objects.get(pk=api(server, key, "POST", "/api/transactions", body)["transaction"]["id"])
        row = room.locator(f'[data-role=trade-rows] tr[data-trade="{trade.pk}"]')
        row.wait_for(timeout=3000)
        cells = [row.locator("td").nth(n).inner_text() for n in range(8)]
        assert cells[1:] == ["1", "Bull Riders", "Buy ACME", "7", "10.00", "70.00", "0.00"]

        row.get_by_label("Reason to reverse this trade").fill("Typed the wrong quantity")
        row.get_by_role("button", name="Reverse").click()
        room.wait_for_url(f"{base}{ROOM}#trades")
        assert "reversed" in room.locator(f'tr[data-trade="{trade.pk}"]').inner_text()
    finally:
        desk.close()
    assert errors == []
    assert Transaction.objects.get(pk=trade.pk).reversal_reason == "Typed the wrong quantity"
