"""The full-scene page hears the director (topic `scene`); its preview may be framed by the control
room (same origin only) and makes no sound."""

import pytest

from overlay.tests.conftest import TOKEN

pytestmark = pytest.mark.django_db


def test_the_full_scene_hears_the_director_and_no_other_page_does(client):
    assert 'data-topics="market,leaderboard,news,scene"' in client.get("/overlay/", {"token": TOKEN}).content.decode()
    for page in ("ticker", "leaderboard", "news", "bell"):
        shown = client.get(f"/overlay/{page}", {"token": TOKEN}).content.decode()
        assert "scene" not in shown.split('data-topics="')[1].split('"')[0]
        assert 'id="director"' not in shown


def test_the_preview_may_be_framed_by_the_site_itself_and_is_silent(client):
    response = client.get("/overlay/", {"token": TOKEN, "preview": "1"})

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert 'data-preview="1"' in page
    assert 'data-sound="0"' in page


def test_the_stream_page_may_be_framed_by_nobody(client):
    for path, query in [("/overlay/", {}), ("/overlay/ticker", {"preview": "1"})]:
        response = client.get(path, {"token": TOKEN, **query})
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert 'data-preview="0"' in response.content.decode()


def test_a_wrong_token_gets_no_preview(client):
    response = client.get("/overlay/", {"token": "wrong", "preview": "1"})
    assert response.status_code == 403
    assert response["X-Frame-Options"] == "DENY"
