"""The control room: one admin page for the event day (SPEC §6).

The page shows the market and its bell, live counts, the run sheet (its cues fired now, skipped,
held, resumed, the last price cue undone), the whole price board, news, freezing, the teams with
open orders (each team's cancelled at once), the latest trades with their reversal, and the
overlay URLs. Each form posts to its own URL, calls the services (so history, audit and
live events happen as everywhere else), and answers with a redirect and a message. A form with
errors changes nothing: it is kept in the session for the next page, which draws it again with
each error beside its field.
"""

import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.messages.utils import get_level_tags
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST

from common.problems import DomainError
from market import selectors, services
from market.errors import PriceChanged
from market.live import current_overlay_token
from market.models import Company, Order, OrderStatus, Participant, Transaction
from market.money import money
from market.templatetags.money import amount, count
from newsroom.services import news_create
from organisers.control_room import director, run_sheet
from organisers.control_room.forms import (
    FORMS,
    BellForm,
    CueForm,
    FreezeForm,
    NewsForm,
    OverlayTokenForm,
    PriceBoardForm,
    RevealForm,
    ReversalForm,
    SceneForm,
    TeamOrdersCancelForm,
)
from organisers.director import live as director_live
from organisers.director import services as director_services
from organisers.models import Cue, CueStatus, RunSheet
from organisers.runsheet import live as run_sheet_live
from organisers.runsheet import services as cues
from organisers.runsheet.news import news_cue, news_write
from organisers.runsheet.times import duration_text
from overlay import presence

LATEST_TRADES = 25
FLASHED_FORM = "control_room_form"
OVERLAY_PAGES = [
    ("scene", "Full scene"),
    ("ticker", "Ticker tape"),
    ("leaderboard", "Leaderboard"),
    ("news", "News lower-third"),
    ("bell", "Bell banner"),
]


# The form kept for the next page (post/redirect/get with errors)


def _keep(request: HttpRequest, name: str) -> None:
    data = {key: values for key, values in request.POST.lists() if key != "csrfmiddlewaretoken"}
    request.session[FLASHED_FORM] = {"name": name, "data": data}


def _kept(request: HttpRequest) -> tuple[str | None, QueryDict | None]:
    kept = request.session.pop(FLASHED_FORM, None)
    if not isinstance(kept, dict) or kept.get("name") not in (*FORMS, "prices", "director"):
        return None, None
    data = QueryDict(mutable=True)
    for key, values in kept.get("data", {}).items():
        data.setlist(key, values)
    return kept["name"], data


def _back(anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("control_room:index") + (f"#{anchor}" if anchor else ""))


def _first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form."


def _priced_companies(data: QueryDict) -> list[Company]:
    """The companies the submitted board had: one added since is not on it, one deleted is gone."""
    return [company for company in Company.objects.order_by("ticker") if f"price_{company.pk}" in data]


# The page


def live_counts() -> dict[str, Any]:
    """Teams online (sockets open), the trades and volume of the current (or last) trading day, and
    the orders waiting now."""
    market = selectors.market_state()
    day = market["day"]
    standing = Transaction.objects.filter(day=day, reversed_at__isnull=True)
    totals = standing.aggregate(trades=Count("pk"), volume=Sum("total")) if day else {"trades": 0, "volume": None}
    user_ids = list(Participant.objects.values_list("user_id", flat=True))
    return {
        "market": market["status"],
        "day": day,
        "teams": len(user_ids),
        "teams_online": len(presence.online_user_ids(user_ids)),
        "trades_today": totals["trades"],
        "volume_today": str(money(totals["volume"] or 0)),
        "open_orders": Order.objects.filter(status=OrderStatus.OPEN).count(),
    }


def teams_with_open_orders():
    """The teams that have orders waiting, by name, each with how many and the cash they hold."""
    waiting = Participant.objects.filter(orders__status=OrderStatus.OPEN)  # the count below counts only these
    return waiting.annotate(open_orders=Count("orders")).order_by("display_name")


def overlay_urls(request: HttpRequest) -> list[dict[str, str]]:
    token = current_overlay_token()
    if not token:
        return []
    query = urlencode({"token": token})
    return [
        {"name": name, "label": label, "url": request.build_absolute_uri(reverse(f"overlay:{name}")) + "?" + query}
        for name, label in OVERLAY_PAGES
    ]


def preview_url(request: HttpRequest) -> str:
    """The full-scene page in preview mode: it draws only the scenes this page hands it."""
    token = current_overlay_token()
    if not token:
        return ""
    return reverse("overlay:scene") + "?" + urlencode({"token": token, "preview": "1", "sound": "0"})


def cue_list_url() -> str | None:
    """The cues in the Django admin, when their admin is registered."""
    try:
        return reverse("admin:organisers_cue_changelist")
    except NoReverseMatch:
        return None


@require_GET
def control_room(request: HttpRequest) -> HttpResponse:
    kept_name, kept_data = _kept(request)
    companies = list(Company.objects.order_by("ticker"))
    if kept_name == "prices":
        board = PriceBoardForm(kept_data, companies=_priced_companies(kept_data))
        board.is_valid()
    else:
        board = PriceBoardForm(companies=companies)
    forms_shown = {name: form_class() for name, form_class in FORMS.items()}
    if kept_name in FORMS:
        forms_shown[kept_name] = FORMS[kept_name](kept_data)
        forms_shown[kept_name].is_valid()

    director_panel = director.panel()
    director_form = SceneForm(
        kept_data if kept_name == "director" else None,
        initial=director.form_initial(director_panel["on_air"]),
        news=director.news_choices(),
    )
    if kept_name == "director":
        director_form.is_valid()

    market = selectors.market_state()
    next_bell = "close" if market["status"] == "open" else "open"
    team_filter = request.GET.get("team", "").strip()
    trades = Transaction.objects.select_related("company", "participant").order_by("-created_at", "-id")
    if team_filter:
        trades = trades.filter(participant__display_name__icontains=team_filter)
    context = {
        **admin.site.each_context(request),
        "title": "Control room",
        "is_nav_sidebar_enabled": False,
        "market": market,
        # Always the bell the market needs now (another organiser may have rung it meanwhile).
        "bell": BellForm(initial={"action": next_bell, "seen_day": market["day"]}),
        "bell_errors": forms_shown["bell"].errors.get("confirm", []) if kept_name == "bell" else [],
        "next_bell": next_bell,
        "counts": live_counts(),
        "run_sheet": run_sheet.panel(run_sheet_live.timeline()),
        "director": director_panel,
        "director_form": director_form,
        "preview_url": preview_url(request),
        "cue_list_url": cue_list_url(),
        "board": board,
        "news_form": forms_shown["news"],
        "freeze_form": forms_shown["freeze"],
        "team_names": Participant.objects.order_by("display_name").values_list("display_name", flat=True),
        "frozen_teams": Participant.objects.filter(is_frozen=True).order_by("display_name"),
        "order_teams": teams_with_open_orders(),
        "trades": trades[:LATEST_TRADES],
        "trades_limit": LATEST_TRADES,
        "team_filter": team_filter,
        "overlay_urls": overlay_urls(request),
        "overlay_token_form": forms_shown["overlay_token"],
        "event_timezone": settings.EVENT_TIMEZONE,
    }
    return render(request, "admin/control_room.html", context)


@require_GET
def counts(request: HttpRequest) -> JsonResponse:
    return JsonResponse(live_counts())


# The actions: each one service call, then back to the page with a message


@require_POST
def bell(request: HttpRequest) -> HttpResponse:
    form = BellForm(request.POST)
    if not form.is_valid():
        _keep(request, "bell")
        messages.error(request, f"The bell did not ring: {_first_error(form)}")
        return _back("market")
    seen_day, now_showing = form.cleaned_data["seen_day"], selectors.market_state()
    expected = "open" if form.cleaned_data["action"] == "close" else "closed"
    if now_showing["day"] != seen_day or now_showing["status"] != expected:
        state = f"day {now_showing['day']} is {now_showing['status']}" if now_showing["day"] else "no day has opened"
        messages.error(request, f"The bell did not ring: the market changed since this page was drawn ({state}).")
        return _back("market")
    try:
        if form.cleaned_data["action"] == "open":
            day = services.market_open(by=request.user)
            messages.success(request, f"Day {day.number} is open: teams can trade.")
        else:
            day = services.market_close(by=request.user, day_number=seen_day)
            messages.success(request, f"Day {day.number} is closed: closing prices and team values are kept.")
    except DomainError as refusal:
        messages.error(request, f"The bell did not ring: {refusal.detail}")
    return _back("market")


@require_POST
def prices(request: HttpRequest) -> HttpResponse:
    board = PriceBoardForm(request.POST, companies=_priced_companies(request.POST))
    if not board.is_valid():
        _keep(request, "prices")
        messages.error(request, "No price was changed: correct the prices marked below and submit again.")
        return _back("prices")
    changed, skipped, refused = [], [], []
    for company, price, drawn in board.changes():
        try:
            services.price_set(company=company, price=price, by=request.user, expected_price=drawn)
        except PriceChanged as moved:
            skipped.append(f"{company.ticker} (now {amount(moved.extra['price'])})")
        except DomainError as refusal:
            refused.append(f"{company.ticker}: {refusal.detail}")
        else:
            changed.append(f"{company.ticker} {amount(price)}")
    if changed:
        messages.success(request, f"New prices: {', '.join(changed)}.")
    if skipped:
        messages.warning(
            request,
            f"Not changed, because someone else changed the price since this page was drawn: {', '.join(skipped)}. "
            "Check the new price and submit again if it still needs changing.",
        )
    for line in refused:
        messages.error(request, f"Not changed: {line}")
    if not (changed or skipped or refused):
        messages.info(request, "No price was different: nothing changed.")
    return _back("prices")


@require_POST
def news(request: HttpRequest) -> HttpResponse:
    form = NewsForm(request.POST)
    if not form.is_valid():
        _keep(request, "news")
        messages.error(request, "The news was not saved: correct the form below.")
        return _back("news")
    title, content, at = (form.cleaned_data[name] for name in ("title", "content", "publish_at"))
    if at is None:
        item = news_create(by=request.user, title=title, content=content, published_at=timezone.now())
        messages.success(request, f"Published “{item.title}”: it is on every screen now.")
        return _back("news")
    # Later: a draft and its news cue on the run sheet (as from the API or the admin), so it shows
    # on the timeline and can be fired early, skipped or held like the rest of the script.
    try:
        item = news_write(news=None, by=request.user, title=title, content=content, published_at=at)
    except DomainError as refusal:
        _keep(request, "news")
        problems = " ".join(line for lines in (refusal.errors or {}).values() for line in lines)
        messages.error(request, f"The news was not scheduled: {problems or refusal.detail}")
        return _back("news")
    cue = news_cue(item)
    when = date_format(timezone.localtime(cue.due_at), "j M Y H:i")
    messages.success(
        request,
        f"Scheduled “{title}” for {when} ({settings.EVENT_TIMEZONE}): a news cue of day {cue.day} on the run sheet, "
        "published when it fires.",
    )
    return _back("news")


@require_POST
def freeze(request: HttpRequest) -> HttpResponse:
    form = FreezeForm(request.POST)
    if not form.is_valid():
        _keep(request, "freeze")
        messages.error(request, f"Nothing changed: {_first_error(form)}")
        return _back("teams")
    team, frozen = form.cleaned_data["team"], form.cleaned_data["frozen"]
    if team.is_frozen == frozen:
        messages.info(request, f"{team.display_name} was already {'frozen' if frozen else 'unfrozen'}.")
        return _back("teams")
    services.participant_freeze(participant=team, frozen=frozen, by=request.user)
    if frozen:
        messages.success(request, f"{team.display_name} is frozen: it cannot trade until you unfreeze it.")
    else:
        messages.success(request, f"{team.display_name} is unfrozen: it can trade again.")
    return _back("teams")


@require_POST
def reverse_trade(request: HttpRequest) -> HttpResponse:
    form = ReversalForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The trade was not reversed: {_first_error(form)}")
        return _back("trades")
    trade = Transaction.objects.select_related("company", "participant").filter(pk=form.cleaned_data["trade"]).first()
    if trade is None:
        messages.error(request, "The trade was not reversed: it no longer exists.")
        return _back("trades")
    try:
        services.trade_reverse(trade=trade, by=request.user, reason=form.cleaned_data["reason"])
    except DomainError as refusal:
        messages.error(request, f"The trade was not reversed: {refusal.detail}")
        return _back("trades")
    side = "buy" if trade.type == "buy" else "sale"
    messages.success(
        request,
        f"Reversed {trade.participant.display_name}’s {side} of {count(trade.quantity)} {trade.company.ticker} "
        f"at {amount(trade.price)} (day {trade.day}): its cash and shares are as if it never happened.",
    )
    return _back("trades")


@require_POST
def cancel_orders(request: HttpRequest) -> HttpResponse:
    form = TeamOrdersCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No order was cancelled: {_first_error(form)}")
        return _back("orders")
    team = Participant.objects.filter(pk=form.cleaned_data["team"]).first()
    if team is None:
        messages.error(request, "No order was cancelled: the team no longer exists.")
        return _back("orders")
    cancelled = services.book_cancel_team(participant=team, by=request.user, reason=form.cleaned_data["reason"])
    if not cancelled:
        messages.info(request, f"{team.display_name} has no open orders: nothing was cancelled.")
        return _back("orders")
    orders = "order" if cancelled == 1 else "orders"
    messages.success(
        request,
        f"Cancelled {count(cancelled)} open {orders} of {team.display_name}: the cash and shares they held are "
        "free again, and the team sees them cancelled with your reason.",
    )
    return _back("orders")


@require_POST
def rotate_overlay_token(request: HttpRequest) -> HttpResponse:
    form = OverlayTokenForm(request.POST)
    if not form.is_valid():
        _keep(request, "overlay_token")
        messages.error(request, f"The overlay token was not changed: {_first_error(form)}")
        return _back("overlay")
    services.overlay_token_rotate(by=request.user)
    messages.success(
        request,
        "The overlay token is new: the old overlay URLs no longer work, and overlays open with them have stopped "
        "updating. Put the new URLs below into every OBS browser source.",
    )
    return _back("overlay")


# The run sheet: each action one service call; the page's script stays put and reads the message
# alone (the `run_sheet` event redraws the panel on every organiser's screen).


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _answer(
    request: HttpRequest, level: int, text: str, *, anchor: str = "run-sheet", status: int = 409, **extra: Any
) -> HttpResponse:
    """The page's script reads the message alone (`{level, message}`, `status` for an error);
    without it, the message waits on the page it comes back to."""
    if _wants_json(request):
        body = {"level": get_level_tags()[level], "message": text, **extra}
        return JsonResponse(body, status=status if level == messages.ERROR else 200)
    messages.add_message(request, level, text)
    return _back(anchor)


def _cue_asked(request: HttpRequest) -> Cue | None:
    form = CueForm(request.POST)
    return Cue.objects.filter(pk=form.cleaned_data["cue"]).first() if form.is_valid() else None


@require_POST
def cue_fire(request: HttpRequest) -> HttpResponse:
    cue = _cue_asked(request)
    if cue is None:
        return _answer(request, messages.ERROR, "Nothing fired: that cue no longer exists.")
    try:
        cue = cues.cue_fire(cue=cue, by=request.user)
    except DomainError as refusal:
        return _answer(request, messages.ERROR, f"Nothing fired: {refusal.detail}")
    what = run_sheet.describe(run_sheet_live.cue_data(cue))
    if cue.status == CueStatus.FIRED:
        return _answer(request, messages.SUCCESS, f"Fired {what}.")
    if cue.status == CueStatus.SKIPPED:
        return _answer(request, messages.WARNING, f"{what} was skipped: {cue.reason}")
    return _answer(request, messages.ERROR, f"{what} failed: {cue.reason}")


@require_POST
def cue_skip(request: HttpRequest) -> HttpResponse:
    cue = _cue_asked(request)
    if cue is None:
        return _answer(request, messages.ERROR, "Nothing skipped: that cue no longer exists.")
    try:
        cue = cues.cue_skip(cue=cue, by=request.user)
    except DomainError as refusal:
        return _answer(request, messages.ERROR, f"Nothing skipped: {refusal.detail}")
    what = run_sheet.describe(run_sheet_live.cue_data(cue))
    return _answer(request, messages.SUCCESS, f"Skipped {what}: it will not fire.")


@require_POST
def run_sheet_hold(request: HttpRequest) -> HttpResponse:
    before = RunSheet.load()
    sheet = cues.run_sheet_hold(by=request.user)
    since = timezone.localtime(sheet.held_since).strftime("%H:%M:%S")
    if before.held_since is not None:
        return _answer(request, messages.INFO, f"The run sheet was already held, since {since}.")
    return _answer(
        request,
        messages.SUCCESS,
        f"The run sheet is held since {since}: no cue fires by itself until you resume (Fire now still works).",
    )


@require_POST
def run_sheet_resume(request: HttpRequest) -> HttpResponse:
    before = RunSheet.load()
    sheet = cues.run_sheet_resume(by=request.user)
    if before.held_since is None:
        return _answer(request, messages.INFO, "The run sheet was not held: it runs as it was.")
    held = duration_text(sheet.shifted_by - before.shifted_by)
    return _answer(
        request,
        messages.SUCCESS,
        f"The run sheet runs again: today's cues still to come are {held} later (the time held).",
    )


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@require_POST
def price_cue_undo(request: HttpRequest) -> HttpResponse:
    try:
        # The cue the page showed: if another organiser undid or fired one meanwhile, nothing happens.
        cue = cues.price_cue_undo(by=request.user, expected=_uuid_or_none(request.POST.get("cue", "")))
    except DomainError as refusal:
        return _answer(request, messages.ERROR, f"Nothing undone: {refusal.detail}")
    ticker, old, new = (cue.result[name] for name in ("ticker", "old_price", "price"))
    return _answer(
        request,
        messages.SUCCESS,
        f"Undone: {ticker} is back to {amount(old)} (the price cue fired at "
        f"{timezone.localtime(cue.fired_at):%H:%M:%S} had made it {amount(new)}).",
    )


# The director (SPEC §8): a scene previewed, taken, and the podium revealed place by place. Like the
# run sheet's, each action answers the page's script with its message alone (the `scene` event
# names the scene on air on every organiser's screen), or without the script, with a redirect.


def _form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [error["message"] for error in errors] for name, errors in form.errors.get_json_data().items()}


def _scene_refused(form: SceneForm) -> str:
    return form.refusal or _first_error(form)


@require_GET
def scene_preview(request: HttpRequest) -> JsonResponse:
    """`{scene, label}`: the payload the full-scene page would draw if this scene were taken now
    (400 `{level, message, errors}` for a scene the director refuses)."""
    form = SceneForm(request.GET)
    if not form.is_valid():
        body = {"level": "error", "message": f"Not previewed: {_scene_refused(form)}", "errors": _form_errors(form)}
        return JsonResponse(body, status=400)
    payload = director_live.payload(form.cleaned_data["scene"], form.cleaned_data["options"])
    return JsonResponse({"scene": payload, "label": director.describe(payload)})


def _taken(request: HttpRequest, scene: str, options: dict, *, expected=None) -> tuple[dict | None, str]:
    """Take the scene: its payload as sent, or None and why not."""
    try:
        taken = director_services.scene_take(by=request.user, scene=scene, options=options, expected=expected)
    except DomainError as refusal:
        return None, refusal.detail
    return director_live.of(taken), ""


@require_POST
def scene_take(request: HttpRequest) -> HttpResponse:
    form = SceneForm(request.POST)
    if not form.is_valid():
        if not _wants_json(request):
            _keep(request, "director")
        message = f"Nothing taken: {_scene_refused(form)}"
        return _answer(request, messages.ERROR, message, anchor="director", status=400, errors=_form_errors(form))
    payload, refused = _taken(request, form.cleaned_data["scene"], form.cleaned_data["options"])
    if payload is None:
        return _answer(request, messages.ERROR, f"Nothing taken: {refused}", anchor="director", status=400)
    return _answer(request, messages.SUCCESS, f"On the stream now: {director.describe(payload)}.", anchor="director")


@require_POST
def scene_reveal(request: HttpRequest) -> HttpResponse:
    """The podium's next place, as the page named it: pressed on a page drawn before another
    organiser revealed or covered a place, it changes nothing rather than skip or repeat one."""
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _answer(
            request, messages.ERROR, f"Nothing revealed: {_first_error(form)}", anchor="director", status=400
        )
    wanted, on_air = form.cleaned_data["revealed"], director_live.current()
    count = director.podium_count(on_air)
    step = director.podium_next(on_air=on_air, count=count)
    if step["place"] is None:
        said = "no team is on the podium yet" if not count else "every place is revealed already"
        return _answer(request, messages.INFO, f"Nothing revealed: {said}.", anchor="director")
    if wanted != step["revealed"]:
        return _answer(
            request,
            messages.WARNING,
            f"Nothing revealed: the stream changed since this page was drawn (on air: {director.describe(on_air)}). "
            f"Reveal next place now reveals {step['place']} place.",
            anchor="director",
        )
    # Checked again under the stream's row lock: a press at the same instant as another's reveals nothing.
    payload, refused = _taken(request, "podium", {"revealed": wanted}, expected=(on_air["scene"], on_air["options"]))
    if payload is None:
        return _answer(request, messages.ERROR, f"Nothing revealed: {refused}", anchor="director", status=400)
    shown = payload["data"]["places"][-1]  # third first: the last is the one just revealed
    school = f" ({shown['school'].strip()})" if (shown["school"] or "").strip() else ""
    return _answer(
        request,
        messages.SUCCESS,
        f"Revealed {step['place']} place on the stream: {shown['display_name']}{school}.",
        anchor="director",
    )
