import pytest

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_auth_paths(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ["/api/auth/signup", "/api/auth/signin", "/api/auth/signout", "/api/auth/me", "/api/health"]:
        assert path in schema["paths"]


def test_docs_page_serves_swagger_ui_from_our_own_static_files(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page
