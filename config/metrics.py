"""Prometheus metrics: requests, Celery task outcomes, and the backlog read from the database.

On only when ``METRICS_TOKEN`` is set. Every process (gunicorn workers, Celery
pool children) writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode), and ``GET /metrics`` on any web process
sums every file there, so the web serves what the workers of the same host
recorded. The backlog gauges are computed by the serving process when scraped.
"""

import hmac
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# prometheus-client picks its multiprocess mode when first imported.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.PROMETHEUS_MULTIPROC_DIR))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from config.backlog import backlog_gauges  # noqa: E402

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by route name, method and status", ["view", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by route name and method", ["view", "method"]
)
TASKS = Counter("celery_tasks_total", "Celery tasks ended, by task name and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram(
    "celery_task_duration_seconds",
    "Run time of a Celery task that succeeded or failed, by task name",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, float("inf")),
)


class RequestMetricsMiddleware:
    """Counts and times every request by its route name (never its path: ids would
    make a series per object)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        match = request.resolver_match
        view = (match.view_name or "unnamed") if match is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(view, method).observe(elapsed)
        return response


# --- Celery (connected from PlatformConfig.ready() when metrics are on) --------

_task_started: dict[str, float] = {}


def task_started(task_id=None, **_) -> None:
    _task_started[task_id] = time.monotonic()


def _task_ended(task_name: str, task_id: str | None, outcome: str) -> None:
    TASKS.labels(task_name, outcome).inc()
    started = _task_started.pop(task_id, None) if task_id else None
    if started is not None:
        TASK_SECONDS.labels(task_name).observe(time.monotonic() - started)


def task_succeeded(sender=None, **_) -> None:
    _task_ended(sender.name, sender.request.id, "succeeded")


def task_failed(sender=None, task_id=None, **_) -> None:
    _task_ended(sender.name, task_id, "failed")


def task_retried(sender=None, request=None, **_) -> None:
    TASKS.labels(sender.name, "retried").inc()
    if request is not None:
        _task_started.pop(request.id, None)


def task_signals_connect() -> None:
    from celery import signals

    signals.task_prerun.connect(task_started, dispatch_uid="metrics-task-prerun")
    signals.task_success.connect(task_succeeded, dispatch_uid="metrics-task-success")
    signals.task_failure.connect(task_failed, dispatch_uid="metrics-task-failure")
    signals.task_retry.connect(task_retried, dispatch_uid="metrics-task-retry")


# --- Exposition -----------------------------------------------------------------


class BacklogCollector:
    """The apps' backlog gauges, read from their rows at scrape time (the rows are
    the source of truth; no process keeps a count that could drift)."""

    def collect(self):
        for gauge in backlog_gauges():
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            reading = gauge.read()
            if isinstance(reading, int | float):
                family.add_metric([], float(reading))
            else:
                for label_values, value in reading.items():
                    family.add_metric(list(label_values), float(value))
            yield family


def _authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 401 without the bearer token."""
    if not _authorized(request):
        return HttpResponse(
            "Unauthorized\n", status=401, headers={"WWW-Authenticate": "Bearer"}, content_type="text/plain"
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
