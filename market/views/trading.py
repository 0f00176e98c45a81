"""The trade page: an order at the current price, placed once (its form carries its own key),
refused in words a team reads."""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from common.problems import InvalidInput
from market.decorators import team_required
from market.errors import IdempotencyKeyReused, team_sentence
from market.models import Company, EventSettings, Holding, TradeType, Transaction
from market.services import order_place
from market.throttles import TradeThrottle


def _trade_page(request, *, values: dict, errors: dict | None = None, refusal: str = "", status: int = 200):
    team = request.participant
    team.refresh_from_db()
    rules = EventSettings.load()
    companies = list(Company.objects.filter(is_active=True).order_by("ticker"))
    holdings = dict(Holding.objects.filter(participant=team, quantity__gt=0).values_list("company__ticker", "quantity"))
    for company in companies:
        company.held = holdings.get(company.ticker, 0)
    selected = next((c for c in companies if c.ticker == values.get("ticker")), companies[0] if companies else None)
    receipt = None
    done = request.GET.get("done")
    if done and status == 200:
        try:
            receipt = Transaction.objects.select_related("company").filter(participant=team, pk=uuid.UUID(done)).first()
        except ValueError:
            receipt = None
    context = {
        "companies": companies,
        "selected": selected,
        "holdings": holdings,
        "rules": rules,
        "values": values,
        "errors": errors or {},
        "refusal": refusal,
        "receipt": receipt,
        "key": uuid.uuid4().hex,  # one per form drawn: a double submit of this form trades once
        "team_cash": team.cash,
    }
    return render(request, "market/trade.html", context, status=status)


def _order_from(post) -> dict:
    quantity = post.get("quantity", "").strip()
    order = {
        "ticker": post.get("ticker", "").strip(),
        "type": post.get("type", ""),
        "quantity": int(quantity) if quantity.isascii() and quantity.isdigit() and len(quantity) <= 12 else quantity,
    }
    # The price the team saw belongs to one company: ordering another one (picked without the
    # page's script to update it) carries no price guard rather than a false "price changed".
    expected = post.get("expected_price", "").strip()
    if expected and post.get("expected_for", "").strip().upper() == order["ticker"].upper():
        order["expected_price"] = expected
    return order


@never_cache  # each visit draws a fresh order key; the back button must not bring an old one
@require_http_methods(["GET", "POST"])
@team_required
def trade(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        values = {
            "ticker": (request.GET.get("company") or "").upper(),
            "type": request.GET.get("side") if request.GET.get("side") in TradeType.values else TradeType.BUY,
            "quantity": "",
        }
        return _trade_page(request, values=values)

    order = _order_from(request.POST)
    values = {**order, "ticker": order["ticker"].upper()}
    throttle = TradeThrottle()  # the API's allowance: one budget per team for page and API
    if not throttle.allow_request(request, None):
        wait = max(1, round(throttle.wait() or 1))
        refusal = f"Too many orders in a short time. Wait {wait} seconds, then place the order again."
        return _trade_page(request, values=values, refusal=refusal, status=429)
    try:
        placed = order_place(participant=request.participant, data=order, key=request.POST.get("key", ""))
    except ValidationError as exc:
        errors = {field: [str(message) for message in messages] for field, messages in exc.detail.items()}
        return _trade_page(request, values=values, errors=errors, status=400)
    except InvalidInput:  # the form's own key was missing or mangled
        refusal = "The order form was incomplete; check it and place the order again."
        return _trade_page(request, values=values, refusal=refusal, status=400)
    except IdempotencyKeyReused:  # this form's key already placed a different order (the back button)
        refusal = "This order form was already used for another order. Check the order and place it again."
        return _trade_page(request, values=values, refusal=refusal, status=409)
    status, body = placed.status, placed.body
    if status == 400 and body.get("errors"):  # a rule of the event (the lot size): beside its field
        return _trade_page(request, values=values, errors=body["errors"], status=status)
    if status >= 400:
        return _trade_page(request, values=values, refusal=team_sentence(body, order), status=status)
    # After a trade, a fresh form (and key) with the receipt: reloading the page trades nothing.
    query = urlencode({"company": values["ticker"], "side": order["type"], "done": body["transaction"]["id"]})
    return redirect(f"{reverse('market:trade')}?{query}")
