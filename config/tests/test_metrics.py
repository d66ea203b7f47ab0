"""/metrics: guarded by its token, parsed with prometheus-client's own parser."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from conftest import CeleryWorker, wait_until

TOKEN = "metrics-test-token"


@pytest.fixture
def metrics_on(settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    # A worker started by the test records into the same folder.
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(settings.PROMETHEUS_MULTIPROC_DIR))
    from config.metrics import task_signals_connect

    task_signals_connect()


def scrape(client: Client) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == HTTPStatus.OK
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.mark.django_db
def test_metrics_is_404_without_a_token_setting(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuses_a_missing_or_wrong_token(client, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "http_requests_total" not in response.content.decode()


@pytest.mark.django_db
def test_metrics_is_never_redirected_to_https(client, metrics_on, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/metrics").status_code == HTTPStatus.UNAUTHORIZED
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_request_counter_counts_by_route_method_and_status(metrics_on):
    client = Client()  # loads the middleware with metrics on
    key = (("method", "GET"), ("status", "200"), ("view", "health"))
    before = scrape(client).get("http_requests_total", {}).get(key, 0)

    for _ in range(3):
        client.get("/health/")
    after = scrape(client)

    assert after["http_requests_total"][key] == before + 3
    assert after["http_request_duration_seconds_count"][(("method", "GET"), ("view", "health"))] >= 3


@pytest.mark.django_db
def test_backlog_gauges_equal_the_rows(client, metrics_on):
    from codecheck.models import Check, CodeFile
    from files.models import File
    from orders.models import Order, ShippingStatus

    user = UserFactory()
    now = timezone.now()
    oldest = now - timedelta(minutes=7)
    common = {"owner": user, "size": 1, "content_type": "text/plain", "kind": "text"}
    for status, uploaded_at in [
        ("pending", now),
        ("pending", oldest),
        ("processing", now),
        ("done", now - timedelta(days=1)),
    ]:
        File.objects.create(file="files/x", original_name="x.txt", status=status, uploaded_at=uploaded_at, **common)
    code_files = [
        CodeFile.objects.create(owner=user, file="c.py", name=f"c{i}.py", status=status, uploaded_at=now)
        for i, status in enumerate(["new", "updated", "checked", "new"])
    ]
    CodeFile.objects.filter(pk=code_files[3].pk).update(deleted_at=now)
    for version, sent in [(1, True), (2, False), (3, False)]:
        Check.objects.create(
            file=code_files[2], version=version, started_at=now, finished_at=now, passed=True, email_sent=sent
        )
    for shipping in [ShippingStatus.PENDING, ShippingStatus.PENDING, ShippingStatus.SUCCEEDED]:
        Order.objects.create(user=user, total_price=1, shipping_status=shipping)

    samples = scrape(client)

    assert (
        samples["files_waiting"]
        == {
            (("status", "pending"),): File.objects.filter(status="pending").count(),
            (("status", "processing"),): File.objects.filter(status="processing").count(),
        }
        == {(("status", "pending"),): 2, (("status", "processing"),): 1}
    )
    assert 7 * 60 <= samples["files_oldest_waiting_age_seconds"][()] < 8 * 60
    assert samples["codecheck_files_waiting"][()] == 2
    assert samples["codecheck_report_emails_unsent"][()] == Check.objects.filter(email_sent=False).count() == 2
    assert samples["orders_shipping_pending"][()] == Order.objects.filter(shipping_status="pending").count() == 2


def test_task_outcomes_from_a_real_worker_appear(metrics_on, transactional_db, redis_url, tmp_path):
    from config.celery import app
    from config.tasks import health_ping_task

    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    try:
        client = Client()
        key = (("outcome", "succeeded"), ("task", "config.tasks.health_ping_task"))
        before = scrape(client).get("celery_tasks_total", {}).get(key, 0)

        health_ping_task.delay("metrics-test")

        wait_until(lambda: scrape(client).get("celery_tasks_total", {}).get(key, 0) == before + 1, timeout=20)
        samples = scrape(client)
        assert samples["celery_task_duration_seconds_count"][(("task", "config.tasks.health_ping_task"),)] >= 1
    finally:
        worker.stop()
