"""The trade page: an order now at the current price (market) or one that waits for its price
(limit, stop: SPEC §4b), each placed once (its form carries its own key) and refused in words a
team reads; and the team's open orders, each with its Cancel button."""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError

from common.problems import InvalidInput
from market.decorators import team_required
from market.errors import IdempotencyKeyReused, OrderNotOpen, team_sentence
from market.models import (
    Company,
    EventSettings,
    Holding,
    Order,
    OrderExpiry,
    OrderKind,
    OrderStatus,
    TradeType,
    Transaction,
)
from market.services import book_cancel, book_order_place, order_place
from market.throttles import TradeThrottle

MARKET = "market"  # an order now, at the current price: no `kind` of its own in the API
KINDS = (MARKET, *OrderKind.values)


def _trade_page(request, *, values: dict, errors: dict | None = None, refusal: str = "", status: int = 200):
    team = request.participant
    team.refresh_from_db()
    rules = EventSettings.load()
    companies = list(Company.objects.filter(is_active=True).order_by("ticker"))
    holdings = Holding.objects.filter(participant=team, quantity__gt=0)
    held = {
        ticker: (n, by_orders)
        for ticker, n, by_orders in holdings.values_list("company__ticker", "quantity", "reserved_quantity")
    }
    for company in companies:
        company.held, company.held_by_orders = held.get(company.ticker, (0, 0))
    selected = next((c for c in companies if c.ticker == values.get("ticker")), companies[0] if companies else None)
    context = {
        "companies": companies,
        "selected": selected,
        "rules": rules,
        "kinds": [(MARKET, "Market"), *OrderKind.choices],
        "values": values,
        "errors": errors or {},
        "refusal": refusal,
        **(_receipts(request, team) if status == 200 else {}),
        "open_orders": Order.objects.filter(participant=team, status=OrderStatus.OPEN)
        .select_related("company")
        .order_by("created_at", "id"),
        "key": uuid.uuid4().hex,  # one per form drawn: a double submit of this form trades once
        "team_cash": team.cash,
        "team_reserved": team.reserved_cash,
        "team_available": team.cash - team.reserved_cash,
    }
    return render(request, "market/trade.html", context, status=status)


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _receipts(request, team) -> dict:
    """What the team just did, named in the query: a trade (`done`) or an order (`order`: placed,
    filled at once, or cancelled). Only the team's own."""
    done, placed = _uuid(request.GET.get("done")), _uuid(request.GET.get("order"))
    receipt = order = None
    if done:
        receipt = Transaction.objects.select_related("company").filter(participant=team, pk=done).first()
    if placed:
        order = Order.objects.select_related("company", "transaction").filter(participant=team, pk=placed).first()
    return {"receipt": receipt, "order_receipt": order}


def _order_from(post) -> dict:
    quantity = post.get("quantity", "").strip()
    order = {
        "ticker": post.get("ticker", "").strip(),
        "type": post.get("type", ""),
        "quantity": int(quantity) if quantity.isascii() and quantity.isdigit() and len(quantity) <= 12 else quantity,
    }
    kind = post.get("kind", "").strip()
    if kind and kind != MARKET:  # limit or stop (anything else is refused beside the choice)
        order.update(kind=kind, expires=post.get("expires", "").strip() or OrderExpiry.DAY)
        price = post.get("price", "").strip()
        if price:
            order["price"] = price
        return order
    # The price the team saw belongs to one company: ordering another one (picked without the
    # page's script to update it) carries no price guard rather than a false "price changed".
    expected = post.get("expected_price", "").strip()
    if expected and post.get("expected_for", "").strip().upper() == order["ticker"].upper():
        order["expected_price"] = expected
    return order


def _form_values(order: dict, post) -> dict:
    """The form drawn again as the team filled it in."""
    return {
        **order,
        "ticker": order["ticker"].upper(),
        "kind": order.get("kind", MARKET),
        "price": post.get("price", "").strip(),
        "expires": order.get("expires", OrderExpiry.DAY),
    }


def _field_errors(detail: dict, order: dict) -> dict:
    errors = {field: [str(message) for message in messages] for field, messages in detail.items()}
    if "kind" in order and "price" in errors and "price" not in order:
        errors["price"] = ["Enter your price: the order waits until the market reaches it."]
    return errors


@never_cache  # each visit draws a fresh order key; the back button must not bring an old one
@require_http_methods(["GET", "POST"])
@team_required
def trade(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        values = {
            "ticker": (request.GET.get("company") or "").upper(),
            "type": request.GET.get("side") if request.GET.get("side") in TradeType.values else TradeType.BUY,
            "quantity": "",
            "kind": request.GET.get("kind") if request.GET.get("kind") in KINDS else MARKET,
            "price": "",
            "expires": OrderExpiry.DAY,
        }
        return _trade_page(request, values=values)

    order = _order_from(request.POST)
    values = _form_values(order, request.POST)
    throttle = TradeThrottle()  # the API's allowance: one budget per team for page and API
    if not throttle.allow_request(request, None):
        wait = max(1, round(throttle.wait() or 1))
        refusal = f"Too many orders in a short time. Wait {wait} seconds, then place the order again."
        return _trade_page(request, values=values, refusal=refusal, status=429)
    place = book_order_place if "kind" in order else order_place
    try:
        placed = place(participant=request.participant, data=order, key=request.POST.get("key", ""))
    except ValidationError as exc:
        return _trade_page(request, values=values, errors=_field_errors(exc.detail, order), status=400)
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
        refusal = team_sentence(body, order, **_held(request.participant, values["ticker"]))
        return _trade_page(request, values=values, refusal=refusal, status=status)
    # After an order, a fresh form (and key) with the receipt: reloading the page places nothing.
    query = {"company": values["ticker"], "side": order["type"]}
    if "kind" in order:
        query.update(kind=order["kind"], order=body["order"]["id"])
    else:
        query["done"] = body["transaction"]["id"]
    return redirect(f"{reverse('market:trade')}?{urlencode(query)}")


def _held(team, ticker: str) -> dict:
    """What the team's open orders hold, for a refusal that says why less is free."""
    team.refresh_from_db(fields=["reserved_cash"])
    shares = Holding.objects.filter(participant=team, company__ticker=ticker).values_list(
        "reserved_quantity", flat=True
    )
    return {"held_cash": team.reserved_cash, "held_shares": next(iter(shares), 0)}


@never_cache
@require_POST
@team_required
def order_cancel(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """An open order's Cancel button: the order ends and hands back what it held."""
    order = get_object_or_404(Order.objects.select_related("company"), participant=request.participant, pk=order_id)
    try:
        book_cancel(order=order, participant=request.participant)
    except OrderNotOpen:  # it ended meanwhile: filled by a price change, say
        order.refresh_from_db(fields=["status"])
        refusal = team_sentence({"code": "order_not_open", "order_status": order.status}, {})
        values = {"ticker": order.company.ticker, "type": order.type, "quantity": "", "kind": order.kind}
        values.update(price="", expires=order.expires)
        return _trade_page(request, values=values, refusal=refusal, status=409)
    query = {"company": order.company.ticker, "side": order.type, "kind": order.kind, "order": order.pk}
    return redirect(f"{reverse('market:trade')}?{urlencode(query)}")
