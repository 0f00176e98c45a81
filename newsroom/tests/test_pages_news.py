"""The news pages: what teams may read, newest first, shown as text."""

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from newsroom.services import news_create

pytestmark = pytest.mark.django_db


def main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def titles(response) -> list[str]:
    return [html.unescape(title) for title in re.findall(r'<a href="/news/[0-9a-f-]+/">([^<]*)</a>', main(response))]


def published(title: str, *, minutes_ago: int = 5, content: str = "Text."):
    return news_create(
        by=None, title=title, content=content, published_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def team_client(client, team):
    client.force_login(team.user)
    return client


def test_news_list_is_newest_first_without_drafts_or_scheduled_items(team_client):
    published("Yesterday's news", minutes_ago=24 * 60)
    published("This morning's news", minutes_ago=60)
    news_create(by=None, title="Draft news", content="…")
    news_create(by=None, title="Scheduled news", content="…", published_at=timezone.now() + timedelta(minutes=5))

    response = team_client.get("/news/")

    assert response.status_code == 200
    assert titles(response) == ["This morning's news", "Yesterday's news"]
    assert "Draft news" not in response.content.decode()
    assert "Scheduled news" not in response.content.decode()


def test_news_list_is_paginated(team_client):
    for n in range(1, 23):
        published(f"Item {n}", minutes_ago=100 - n)

    first = team_client.get("/news/")
    second = team_client.get("/news/", {"page": 2})
    beyond = team_client.get("/news/", {"page": "nine"})

    assert titles(first) == [f"Item {n}" for n in range(22, 2, -1)]
    assert titles(second) == ["Item 2", "Item 1"]
    assert "Page 2 of 2" in main(second)
    assert beyond.status_code == 200
    assert titles(beyond) == titles(first)


def test_news_list_without_news_says_so(team_client):
    news_create(by=None, title="Draft news", content="…")

    assert "No news yet." in main(team_client.get("/news/"))


def test_news_detail_shows_the_content_with_its_line_breaks(team_client):
    item = published("Rate cut", content="Banks react.\nShares rise.\n\nMore at noon.")

    response = team_client.get(f"/news/{item.pk}/")

    assert response.status_code == 200
    assert "<h1>Rate cut</h1>" in main(response)
    assert "<p>Banks react.<br>Shares rise.</p>\n\n<p>More at noon.</p>" in main(response)


def test_news_detail_shows_html_as_text(team_client):
    item = published("<script>alert(1)</script>", content='<img src=x onerror="alert(2)">\nBold <b>claims</b>')

    response = team_client.get(f"/news/{item.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in main(response)
    assert "<img" not in main(response)
    assert "<b>claims</b>" not in page
    assert "&lt;b&gt;claims&lt;/b&gt;" in main(response)


def test_a_headline_with_html_is_text_in_the_lists_too(team_client):
    published("<i>Breaking</i>")

    for path in ("/news/", "/market/"):
        page = team_client.get(path).content.decode()
        assert "<i>Breaking</i>" not in page
        assert "&lt;i&gt;Breaking&lt;/i&gt;" in page


@pytest.mark.parametrize("published_at", [None, timedelta(hours=1)], ids=["draft", "scheduled"])
def test_unpublished_news_is_not_found_by_its_address(team_client, published_at):
    when = timezone.now() + published_at if published_at else None
    item = news_create(by=None, title="Not yet", content="Embargoed figures.", published_at=when)

    response = team_client.get(f"/news/{item.pk}/")

    assert response.status_code == 404
    assert "Page not found" in main(response)
    assert "Embargoed figures." not in response.content.decode()


def test_an_unknown_news_address_is_the_sites_not_found_page(team_client):
    response = team_client.get(f"/news/{uuid.uuid4()}/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in main(response)
    assert 'data-role="team-name">Bull Riders</dd>' in response.content.decode()


@pytest.mark.parametrize("path", ["/news/", "detail"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, path):
    item = published("Members only")
    path = f"/news/{item.pk}/" if path == "detail" else path

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next={path}"


def test_an_organiser_gets_the_page_for_teams(client, admin_user):
    item = published("For teams")
    client.force_login(admin_user)

    response = client.get(f"/news/{item.pk}/")

    assert response.status_code == 403
    assert "This page is for teams" in main(response)
