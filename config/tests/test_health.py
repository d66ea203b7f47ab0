from http import HTTPStatus

import pytest
from django.urls import reverse

from config import health

pytestmark = pytest.mark.django_db


def test_health_reports_every_part_ok(api_client):
    response = api_client.get(reverse("health"))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.parametrize("part", ["database", "cache", "broker"])
def test_health_names_the_part_that_is_down(api_client, monkeypatch, caplog, part):
    def down():
        raise ConnectionError(f"{part} unreachable at 10.1.2.3")

    monkeypatch.setitem(health.CHECKS, part, down)

    response = api_client.get(reverse("health"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"][part] == "error"
    assert [name for name, state in body["checks"].items() if state != "ok"] == [part]
    # Why it failed goes to the log, never to an anonymous caller.
    assert "10.1.2.3" not in response.content.decode()
    assert f"{part} unreachable at 10.1.2.3" in caplog.text


def test_health_cache_check_fails_when_cache_loses_writes(api_client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    response = api_client.get(reverse("health"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"]["cache"] == "error"


def test_health_broker_check_fails_on_unreachable_redis(api_client, broker_down):
    response = api_client.get(reverse("health"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"]["broker"] == "error"


def test_unknown_api_url_is_a_json_404(api_client):
    response = api_client.get("/api/orders/null,null/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("text/html")
