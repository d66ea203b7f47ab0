"""GET /health/: is the database, the cache and the broker reachable? With ``?deep=1``,
does a worker of the critical queue answer too?"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    # The memcached client ignores errors (a dead cache must not break pages),
    # so a write that cannot be read back is how a dead cache shows.
    key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise ConnectionError("cache did not return what was written")
    cache.delete(key)


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=3)


WORKER_STATE_KEY = "health:worker"


def _check_worker() -> None:
    """A ping task round trip through the critical queue. Either outcome is reused for
    HEALTH_WORKER_CACHE_SECONDS, so probes cost one cache read most of the time and
    anonymous callers cannot tie up web threads waiting on a dead queue."""
    state = cache.get(WORKER_STATE_KEY)
    if state is None:
        state = "ok" if _worker_answers_ping() else "error"
        cache.set(WORKER_STATE_KEY, state, timeout=settings.HEALTH_WORKER_CACHE_SECONDS)
    if state != "ok":
        raise TimeoutError(f"no worker answered a ping within {settings.HEALTH_WORKER_TIMEOUT_SECONDS}s")


def _worker_answers_ping() -> bool:
    from config.tasks import PONG_KEY, health_ping_task

    token = uuid.uuid4().hex
    # An unanswered ping left in the queue is dropped, not run long after it mattered.
    health_ping_task.apply_async((token,), retry=False, expires=60)
    durable, key = caches["durable"], PONG_KEY.format(token)
    deadline = time.monotonic() + settings.HEALTH_WORKER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if durable.get(key):
            durable.delete(key)
            return True
        time.sleep(0.05)
    return False


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}
# Only with ?deep=1 (docs/operations.md, "Health").
DEEP_CHECKS = {"worker": _check_worker}

_HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "error"]),
        "checks": serializers.DictField(child=serializers.CharField()),
    },
)


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "deep",
                OpenApiTypes.STR,
                description="`1`: also check that a worker answers a ping task (`checks.worker`); "
                "any other value: the light check.",
            )
        ],
        responses={200: _HealthSerializer, 503: _HealthSerializer},
        tags=["health"],
    )
    def get(self, request):
        checks = {}
        deep = request.query_params.get("deep") == "1"
        for name, check in {**CHECKS, **(DEEP_CHECKS if deep else {})}.items():
            try:
                check()
                checks[name] = "ok"
            except Exception:  # any failure means "down"; why is for the logs, not for anonymous callers
                logger.exception("health check %r failed", name)
                checks[name] = "error"
        healthy = all(v == "ok" for v in checks.values())
        return Response({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
