"""The team pages that show the market and the team: the market page, the portfolio, the history
and the leaderboard. Each is drawn whole on the server (it works before any script runs);
`static/app/` then keeps it live from the `/api/ws` socket."""

from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from market import selectors
from market.decorators import team_required
from market.models import Company, EventSettings, Transaction

HISTORY_PAGE = 25
LEADERBOARD_PAGE = 50


@require_GET
@team_required
def dashboard(request: HttpRequest) -> HttpResponse:
    companies = list(Company.objects.order_by("ticker"))
    wanted = (request.GET.get("company") or "").upper()
    selected = next((c for c in companies if c.ticker == wanted), None)
    selected = selected or next((c for c in companies if c.is_active), None) or (companies[0] if companies else None)
    context = {
        "companies": companies,
        "selected": selected,
        "chart": selectors.price_chart(selected) if selected else None,
    }
    return render(request, "market/dashboard.html", context)


# The team's own


@require_GET
@team_required
def portfolio(request: HttpRequest) -> HttpResponse:
    team = request.participant
    context = {
        "portfolio": selectors.portfolio(team),
        "value_chart": selectors.value_chart(team),
        "days": selectors.daily_ranks(team),
    }
    return render(request, "market/portfolio.html", context)


@require_GET
@team_required
def history(request: HttpRequest) -> HttpResponse:
    trades = (
        Transaction.objects.filter(participant=request.participant)
        .select_related("company")
        .annotate(from_order=F("order__id"), order_kind=F("order__kind"))
        .order_by("-created_at", "-id")
    )
    page = Paginator(trades, HISTORY_PAGE).get_page(request.GET.get("page"))
    return render(request, "market/history.html", {"page": page})


@require_GET
@team_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    if not EventSettings.load().leaderboard_visible:
        return render(request, "market/leaderboard_hidden.html", status=403)
    page = Paginator(selectors.leaderboard(), LEADERBOARD_PAGE).get_page(request.GET.get("page"))
    own = request.participant.pk
    entries = [{**selectors.leaderboard_entry(team), "is_own": team.pk == own} for team in page]
    return render(request, "market/leaderboard.html", {"page": page, "entries": entries})
