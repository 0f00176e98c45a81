import pytest
from django.utils import timezone

from market.models import AuditEntry
from newsroom.models import News

pytestmark = pytest.mark.django_db


def test_admin_writes_a_draft_then_publishes_it(admin_api, team_api, django_capture_on_commit_callbacks):
    draft = admin_api.post("/api/admin/news", {"title": "Rates cut", "content": "The bank cut rates."}, format="json")
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"
    assert team_api.get("/api/news").json()["count"] == 0

    now = timezone.now().isoformat()
    with django_capture_on_commit_callbacks(execute=True):  # the request commits, as on the server
        published = admin_api.patch(f"/api/admin/news/{draft.json()['id']}", {"published_at": now}, format="json")

    assert published.json()["status"] == "published"
    assert [n["title"] for n in team_api.get("/api/news").json()["results"]] == ["Rates cut"]
    assert AuditEntry.objects.filter(action__startswith="news_").count() == 2


def test_admin_schedules_news_for_later(admin_api, team_api):
    later = (timezone.now() + timezone.timedelta(hours=1)).isoformat()
    response = admin_api.post(
        "/api/admin/news", {"title": "Results", "content": "Soon.", "published_at": later}, format="json"
    )
    assert response.json()["status"] == "scheduled"
    assert team_api.get("/api/news").json()["count"] == 0
    assert admin_api.get("/api/admin/news").json()["count"] == 1


def test_admin_deletes_news(admin_api):
    news = News.objects.create(title="Oops", content="Wrong", published_at=timezone.now())
    assert admin_api.delete(f"/api/admin/news/{news.pk}").status_code == 204
    assert not News.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"title": "", "content": "x"}, {"title": "x", "content": "y", "published_at": "yesterday"}]
)
def test_bad_news_input_is_a_validation_error(admin_api, body):
    response = admin_api.post("/api/admin/news", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not News.objects.exists()
