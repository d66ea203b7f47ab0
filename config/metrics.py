"""Prometheus metrics: requests, database and cache calls, Celery task outcomes, and the
backlog read from the database.

On only when ``METRICS_TOKEN`` is set. Every process (gunicorn workers, Celery
pool children) writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode), and ``GET /metrics`` on any web process
sums every file there, so the web serves what the workers of the same host
recorded. A worker on a host of its own serves its host's files on
``WORKER_METRICS_PORT``. The backlog gauges are computed by the serving web
process when scraped. The list of metrics is in docs/operations.md.
"""

import hmac
import logging
import os
import threading
import time
from contextlib import ExitStack
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db import connection
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
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from config.backlog import backlog_gauges  # noqa: E402

if values.ValueClass is values.MutexValue:
    # prometheus-client was imported before the folder was set (the `celery` command
    # loads Flower's plugin, which imports it): this process's samples stay in memory
    # and no /metrics sees them. Set PROMETHEUS_MULTIPROC_DIR in the environment.
    logging.getLogger(__name__).error(
        "metrics of this process are lost: set PROMETHEUS_MULTIPROC_DIR in the environment before it starts"
    )

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


DB_SECONDS = Histogram(
    "db_query_duration_seconds",
    "Time of a database statement, by database alias and statement kind (SELECT, INSERT, ...)",
    ["alias", "statement"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, float("inf")),
)
DB_ERRORS = Counter(
    "db_query_errors_total", "Database statements that raised, by alias and statement kind", ["alias", "statement"]
)
CACHE_SECONDS = Histogram(
    "cache_operation_duration_seconds",
    "Time of a cache call (memcached), by operation",
    ["operation"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1, float("inf")),
)
CACHE_LOOKUPS = Counter("cache_lookups_total", "Keys read from the cache (memcached), by result", ["result"])
CACHE_HITS, CACHE_MISSES = CACHE_LOOKUPS.labels("hit"), CACHE_LOOKUPS.labels("miss")

STATEMENTS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"})


def _statement(sql) -> str:
    head = sql.lstrip()[:10].split(None, 1) if isinstance(sql, str) else []
    word = head[0].upper() if head else ""
    return word if word in STATEMENTS else "other"


def db_observer(execute, sql, params, many, context):
    """A ``connection.execute_wrapper`` (Django's documented database
    instrumentation): times every statement run while it is installed."""
    alias = context["connection"].alias
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception:
        DB_ERRORS.labels(alias, _statement(sql)).inc()
        raise
    finally:
        DB_SECONDS.labels(alias, _statement(sql)).observe(time.perf_counter() - start)


_cache_seconds: dict[str, Histogram] = {}


def cache_observer(operation: str, seconds: float, hits: int, misses: int) -> None:
    """Installed into ``config.memcached`` when metrics are on."""
    histogram = _cache_seconds.get(operation)
    if histogram is None:
        histogram = _cache_seconds[operation] = CACHE_SECONDS.labels(operation)
    histogram.observe(seconds)
    if hits:
        CACHE_HITS.inc(hits)
    if misses:
        CACHE_MISSES.inc(misses)


class RequestMetricsMiddleware:
    """Counts and times every request by its route name (never its path: ids would
    make a series per object)."""

    def __init__(self, get_response):
        self.get_response = get_response
        # (view, method, status) -> its counter and histogram: labels() takes a lock
        # and builds its key on every call; the set of routes is small and fixed.
        self._series: dict[tuple[str, str, int], tuple] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        with connection.execute_wrapper(db_observer):
            if request.path_info == "/metrics":
                # Answered here, before CommonMiddleware checks the Host header against
                # ALLOWED_HOSTS: Prometheus scrapes each replica by its IP address.
                response, view = metrics_view(request), "metrics"
            else:
                response = self.get_response(request)
                match = request.resolver_match
                view = (match.view_name or "unnamed") if match is not None else "unmatched"
        elapsed = time.perf_counter() - start
        method = request.method if request.method in METHODS else "other"
        key = (view, method, response.status_code)
        series = self._series.get(key)
        if series is None:
            series = (REQUESTS.labels(view, method, str(key[2])), REQUEST_SECONDS.labels(view, method))
            self._series[key] = series
        series[0].inc()
        series[1].observe(elapsed)
        return response


# --- Celery (connected from PlatformConfig.ready() when metrics are on) --------

_task_started: dict[str, float] = {}
# The database timing of each running task, closed when it ends.
_task_db_timing: dict[str, ExitStack] = {}


def task_started(task_id=None, **_) -> None:
    _task_started[task_id] = time.monotonic()
    stack = ExitStack()
    stack.enter_context(connection.execute_wrapper(db_observer))
    _task_db_timing[task_id] = stack


def task_finished(task_id=None, **_) -> None:
    stack = _task_db_timing.pop(task_id, None)
    if stack is not None:
        stack.close()


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
    signals.task_postrun.connect(task_finished, dispatch_uid="metrics-task-postrun")
    if settings.WORKER_METRICS_PORT:
        signals.worker_ready.connect(worker_metrics_serve, dispatch_uid="metrics-worker-serve")


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


class HealthCollector:
    """``health_check_ok{check}``: the checks of ``/health/?deep=1`` run at scrape time
    (the worker's ping outcome is reused for HEALTH_WORKER_CACHE_SECONDS, as there)."""

    def collect(self):
        from config.health import CHECKS, DEEP_CHECKS

        family = GaugeMetricFamily(
            "health_check_ok", "1 when the check of /health/?deep=1 passes, else 0, by check", labels=["check"]
        )
        for name, check in {**CHECKS, **DEEP_CHECKS}.items():
            try:
                check()
                ok = 1.0
            except Exception:  # a failed check is the reading, not an error of the scrape
                ok = 0.0
            family.add_metric([name], ok)
        yield family


def _token_matches(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode())


def _authorized(request: HttpRequest) -> bool:
    return _token_matches(request.META.get("HTTP_AUTHORIZATION", ""))


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 401 without the bearer token."""
    if not _authorized(request):
        return HttpResponse(
            "Unauthorized\n", status=401, headers={"WWW-Authenticate": "Bearer"}, content_type="text/plain"
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(BacklogCollector())
    registry.register(HealthCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# --- A worker host's own scrape target --------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # every scrape would be a log line
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _worker_metrics_app(environ, start_response):
    """What this host's processes recorded (the worker's main process and its pool
    children share the folder), behind the same bearer token as ``/metrics``."""
    if not _token_matches(environ.get("HTTP_AUTHORIZATION", "")):
        start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
        return [b"Unauthorized\n"]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(registry)]


def worker_metrics_serve(**_) -> None:
    """Celery's ``worker_ready``, in the worker's main process: serve
    ``http://WORKER_METRICS_HOST:WORKER_METRICS_PORT/metrics`` from a thread. A
    worker on another host than the web (a compose container) is scraped here."""
    server = make_server(
        settings.WORKER_METRICS_HOST,
        settings.WORKER_METRICS_PORT,
        _worker_metrics_app,
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
