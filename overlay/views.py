"""OBS overlay pages (SPEC §8): browser sources at 1920×1080, fed by the live socket."""

from csp.constants import SELF
from csp.decorators import csp_update
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from overlay.domain import overlay_token_ok

# Each page subscribes to exactly the topics it shows (SPEC §5): the ticker hears no news, no page
# hears the trade tape.
PAGES = {
    "scene": {
        "title": "Full scene",
        "widgets": ["status", "ticker", "leaderboard", "news", "bell"],
        # `scene`: the director's scene (SPEC §8), drawn over or instead of the market layout.
        "topics": ["market", "leaderboard", "news", "scene"],
    },
    "ticker": {"title": "Ticker tape", "widgets": ["ticker"], "topics": ["market"]},
    "leaderboard": {"title": "Leaderboard", "widgets": ["leaderboard"], "topics": ["leaderboard"]},
    "news": {"title": "News", "widgets": ["news"], "topics": ["news"]},
    "bell": {"title": "Bell", "widgets": ["bell"], "topics": ["market"]},
}
DEFAULT_LIMIT = 10
MAX_LIMIT = 50


def _limit(value: str | None) -> int:
    try:
        return max(1, min(MAX_LIMIT, int(value or DEFAULT_LIMIT)))
    except ValueError:
        return DEFAULT_LIMIT


@require_GET
@csp_update({"style-src": ["'unsafe-inline'"]})  # OBS "Custom CSS" arrives as an inline <style>
def overlay_page(request: HttpRequest, page: str = "scene") -> HttpResponse:
    token = request.GET.get("token", "")
    if not overlay_token_ok(token):
        # Nothing about the market on this page: only how to get in.
        return render(request, "overlay/forbidden.html", status=403)
    spec = PAGES[page]
    # The control room's director panel shows the full scene in a frame, drawing the scene it is
    # sent rather than the live one (static/overlay/overlay.js): silent, and framed by our own pages only.
    preview = page == "scene" and request.GET.get("preview") == "1"
    options = {
        "page": page,
        "title": spec["title"],
        "widgets": " ".join(spec["widgets"]),
        "topics": ",".join(spec["topics"]),
        "token": token,
        "theme": "light" if request.GET.get("theme") == "light" else "dark",
        "limit": _limit(request.GET.get("limit")),
        "sound": request.GET.get("sound") != "0" and not preview,
        "preview": preview,
        "timezone": settings.EVENT_TIMEZONE,
        "currency": settings.EVENT_CURRENCY,
    }
    response = render(request, "overlay/page.html", options)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    if preview:
        response["X-Frame-Options"] = "SAMEORIGIN"  # XFrameOptionsMiddleware keeps a header already set
        response._csp_replace = {"frame-ancestors": [SELF]}  # read by django-csp's middleware
    return response
