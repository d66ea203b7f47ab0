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


def test_default_health_does_not_wait_for_a_worker(api_client):
    response = api_client.get(reverse("health"))

    assert "worker" not in response.json()["checks"]


def test_deep_health_is_503_within_the_timeout_without_a_worker(transactional_db, api_client, redis_url, settings):
    import time

    from config.celery import app

    app.control.purge()
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 1.5
    start = time.monotonic()

    response = api_client.get(reverse("health"), {"deep": "1"})

    assert time.monotonic() - start < 5
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok", "worker": "error"}


def test_deep_health_is_ok_when_a_worker_answers(celery_worker, api_client):
    response = api_client.get(reverse("health"), {"deep": "1"})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "worker": "ok"},
    }


def test_deep_health_reuses_a_failed_ping_for_a_while(transactional_db, api_client, redis_url, settings):
    import time

    from config.celery import app

    app.control.purge()
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 1.5
    api_client.get(reverse("health"), {"deep": "1"})
    start = time.monotonic()

    response = api_client.get(reverse("health"), {"deep": "1"})

    assert time.monotonic() - start < 1
    assert response.json()["checks"]["worker"] == "error"
