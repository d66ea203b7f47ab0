"""The platform's own tasks: the worker half of ``/health/?deep=1``, expiring idempotency keys."""

from celery import shared_task
from django.core.cache import caches

from config.idempotency import idempotency_keys_expire

# The durable cache (a database table) is shared by every process in every
# configuration, and needs no result backend.
PONG_KEY = "health:pong:{}"


@shared_task(ignore_result=True)
def health_ping_task(token: str) -> None:
    caches["durable"].set(PONG_KEY.format(token), True, timeout=60)


@shared_task(ignore_result=True)
def idempotency_keys_expire_task() -> None:
    idempotency_keys_expire()
