"""Overlay pages render for the token and tell a stranger nothing."""

import pytest

from overlay.tests.servers import TOKEN

pytestmark = pytest.mark.django_db

PAGES = ["/overlay/", "/overlay/ticker", "/overlay/leaderboard", "/overlay/news", "/overlay/bell"]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_for_the_overlay_token(client, path):
    response = client.get(path, {"token": TOKEN})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'type="module"' in page and "overlay/overlay.js" in page
    assert f'data-token="{TOKEN}"' in page
    assert 'data-timezone="Asia/Jakarta"' in page
    assert response["Cache-Control"] == "no-store"
    assert "<button" not in page and "<input" not in page


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("query", [{}, {"token": "wrong"}, {"token": ""}])
def test_without_the_token_the_page_is_refused_and_shows_no_market_data(client, company, team, path, query):
    response = client.get(path, query)

    assert response.status_code == 403
    page = response.content.decode()
    for secret in ("ACME", company.name, team.display_name, TOKEN, "overlay.js"):
        assert secret not in page


def test_the_full_scene_carries_every_widget_and_the_options(client):
    response = client.get("/overlay/", {"token": TOKEN, "theme": "light", "limit": "5", "sound": "0"})
    page = response.content.decode()
    assert 'data-widgets="status ticker leaderboard news bell"' in page
    assert 'data-theme="light"' in page
    assert 'data-limit="5"' in page
    assert 'data-sound="0"' in page


@pytest.mark.parametrize("limit, shown", [("0", "1"), ("500", "50"), ("abc", "10"), ("", "10")])
def test_the_limit_is_kept_in_range(client, limit, shown):
    page = client.get("/overlay/leaderboard", {"token": TOKEN, "limit": limit}).content.decode()
    assert f'data-limit="{shown}"' in page


def test_single_pages_carry_only_their_widget(client):
    page = client.get("/overlay/ticker", {"token": TOKEN}).content.decode()
    assert 'data-widgets="ticker"' in page


def test_the_scripts_and_styles_are_served(client):
    for asset in ["overlay/overlay.js", "shared/live.js", "overlay/bell.js", "shared/format.js", "overlay/overlay.css"]:
        response = client.get(f"/static/{asset}")
        try:
            assert response.status_code == 200, asset
            assert b"".join(response.streaming_content), asset
        finally:
            response.close()


@pytest.mark.parametrize(
    "bare, slashed, title",
    [
        ("/overlay", "/overlay/", "Full scene"),
        ("/overlay/ticker", "/overlay/ticker/", "Ticker tape"),
        ("/overlay/leaderboard", "/overlay/leaderboard/", "Leaderboard"),
        ("/overlay/news", "/overlay/news/", "News"),
        ("/overlay/bell", "/overlay/bell/", "Bell"),
    ],
)
def test_each_page_answers_the_same_with_and_without_a_trailing_slash(client, bare, slashed, title):
    answers = [client.get(path, {"token": TOKEN}) for path in (bare, slashed)]

    assert [answer.status_code for answer in answers] == [200, 200]  # a page, not a redirect
    assert f"Brainstorm overlay · {title}</title>" in answers[0].content.decode()
    assert answers[0].content == answers[1].content


@pytest.mark.parametrize(
    "path, topics",
    [
        ("/overlay/", "market,leaderboard,news,scene"),
        ("/overlay/ticker", "market"),
        ("/overlay/leaderboard", "leaderboard"),
        ("/overlay/news", "news"),
        ("/overlay/bell", "market"),
    ],
)
def test_each_page_subscribes_to_exactly_what_it_shows(client, path, topics):
    page = client.get(path, {"token": TOKEN}).content.decode()
    assert f'data-topics="{topics}"' in page
