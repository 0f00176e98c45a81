from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from market.decorators import team_required
from newsroom.models import News

NEWS_PAGE = 20


@require_GET
@team_required
def news_list(request: HttpRequest) -> HttpResponse:
    items = News.objects.feed()
    page = Paginator(items, NEWS_PAGE).get_page(request.GET.get("page"))
    return render(request, "newsroom/list.html", {"page": page})


@require_GET
@team_required
def news_detail(request: HttpRequest, pk) -> HttpResponse:
    # Drafts and scheduled items do not exist for teams, even by their address.
    item = get_object_or_404(News.objects.published(), pk=pk)
    return render(request, "newsroom/detail.html", {"item": item})
