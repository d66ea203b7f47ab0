"""/metrics: guarded by its token, parsed with prometheus-client's own parser."""

import socket
import uuid
from datetime import timedelta
from http import HTTPStatus

import pytest
import requests
from django.core.signals import request_started
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from config.tests.test_deploy_monitoring import metric_names_used
from conftest import CeleryWorker, wait_until

TOKEN = "metrics-test-token"


@pytest.fixture
def metrics_on(settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    # A worker started by the test records into the same folder.
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(settings.PROMETHEUS_MULTIPROC_DIR))
    from config import memcached
    from config.metrics import cache_observer, task_signals_connect

    task_signals_connect()
    monkeypatch.setattr(memcached, "observer", cache_observer)
    # Scrapes run the deep health checks; without a worker the ping must not hold them up.
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 0.3


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
def test_metrics_answers_a_scrape_by_ip_address_outside_allowed_hosts(client, metrics_on, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com"]

    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="172.18.0.5:8000")
    refused = client.get("/metrics", HTTP_HOST="172.18.0.5:8000")
    page = client.get("/health/", HTTP_HOST="172.18.0.5:8000")

    assert (scraped.status_code, refused.status_code) == (HTTPStatus.OK, HTTPStatus.UNAUTHORIZED)
    assert page.status_code == HTTPStatus.BAD_REQUEST  # everything else still checks the host


@pytest.mark.django_db
def test_health_gauges_name_each_check(client, metrics_on):
    samples = scrape(client)

    assert samples["health_check_ok"] == {
        (("check", "database"),): 1.0,
        (("check", "cache"),): 1.0,
        (("check", "broker"),): 1.0,
        (("check", "worker"),): 0.0,  # no worker runs in this test
    }


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


def parse(text: str) -> dict[str, dict[tuple, float]]:
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def scrape_worker(port: int, token: str | None = TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def outcome(samples: dict, task: str, outcome: str) -> float:
    return samples.get("celery_tasks_total", {}).get((("outcome", outcome), ("task", task)), 0)


PING = "config.tasks.health_ping_task"
FAIL = "config.tests.celery_tasks.outcome_fail_task"
RETRY = "config.tests.celery_tasks.outcome_retry_once_task"


def test_task_outcomes_of_a_real_worker_on_its_own_port_and_on_the_web(
    metrics_on, transactional_db, redis_url, tmp_path, monkeypatch
):
    from config.celery import app
    from config.tasks import health_ping_task
    from config.tests.celery_tasks import outcome_fail_task, outcome_retry_once_task

    port = free_port()
    monkeypatch.setenv("WORKER_METRICS_PORT", str(port))
    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    try:
        client = Client()
        before = parse(scrape_worker(port).text)

        health_ping_task.delay(uuid.uuid4().hex)  # a new key: the pong is an INSERT
        outcome_fail_task.delay("x")
        outcome_retry_once_task.delay()

        wanted = {(PING, "succeeded"): 1, (FAIL, "failed"): 1, (RETRY, "retried"): 1, (RETRY, "succeeded"): 1}

        def counted() -> dict | None:
            samples = parse(scrape_worker(port).text)
            deltas = {key: outcome(samples, *key) - outcome(before, *key) for key in wanted}
            return samples if deltas == wanted else None

        samples = wait_until(counted, timeout=30)
        scrape(client)  # a scrape's own request and health checks show in the next one
        on_web = scrape(client)
        refused = scrape_worker(port, token="wrong")
    finally:
        worker.stop()

    # Run time of each task that ended (a retried run is not timed: it ends again later).
    for task in (PING, FAIL, RETRY):
        assert samples["celery_task_duration_seconds_count"][(("task", task),)] >= 1
    # The ping task writes the durable cache (a database table) in the pool child.
    statements = samples["db_query_duration_seconds_count"]
    assert statements[(("alias", "default"), ("statement", "INSERT"))] >= 1
    # The same host's web sums the same files; the worker's port adds no backlog gauges.
    assert outcome(on_web, FAIL, "failed") == outcome(samples, FAIL, "failed")
    assert "files_waiting" in on_web
    assert on_web["health_check_ok"][(("check", "worker"),)] == 1.0
    # The failed task's statement, and every metric the alerts and the dashboard use.
    assert samples["db_query_errors_total"][(("alias", "default"), ("statement", "SELECT"))] >= 1
    assert metric_names_used() <= set(samples) | set(on_web)
    assert "files_waiting" not in samples
    assert refused.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_database_statements_of_a_request_are_counted(metrics_on):
    scraper, client = Client(), Client()
    client.force_login(UserFactory())
    key = (("alias", "default"), ("statement", "SELECT"))

    # The scrape's own backlog queries run after it read the counters: captured too.
    # Django empties its query log when a request starts; not while capturing here.
    request_started.disconnect(reset_queries)
    try:
        with CaptureQueriesContext(connection) as queries:
            before = scrape(scraper).get("db_query_duration_seconds_count", {}).get(key, 0)
            client.get(reverse("files-api:file-list"))
    finally:
        request_started.connect(reset_queries)
    selects = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    after = scrape(scraper)["db_query_duration_seconds_count"][key]

    assert after - before == len(selects) > 0


@pytest.mark.django_db
def test_memcached_calls_are_timed_with_hits_and_misses(metrics_on, settings):
    from django.core.cache import caches

    if "memcached" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("CACHE_URL is not memcached")
    client = Client()
    cache = caches["default"]
    before = scrape(client)
    hits = before.get("cache_lookups_total", {}).get((("result", "hit"),), 0)
    misses = before.get("cache_lookups_total", {}).get((("result", "miss"),), 0)
    sets = before.get("cache_operation_duration_seconds_count", {}).get((("operation", "set"),), 0)

    cache.set("metrics:a", "ä")
    found = cache.get_many(["metrics:a", "metrics:absent-1", "metrics:absent-2"])
    missing = cache.get("metrics:absent-3")
    after = scrape(client)

    assert (found, missing) == ({"metrics:a": "ä"}, None)
    assert after["cache_operation_duration_seconds_count"][(("operation", "set"),)] >= sets + 1
    assert after["cache_lookups_total"][(("result", "hit"),)] - hits >= 1
    assert after["cache_lookups_total"][(("result", "miss"),)] - misses >= 3
