"""Writes of webhooks: endpoints, the event outbox (``event_publish``), delivery and its sweeper.

``event_publish`` is the one seam through which every product announces a change:
the product's service calls it inside the transaction that makes the change, so
the event exists if and only if the change committed.
"""

import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from config.errors import Conflict
from config.representation import DATETIME, rendered
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, Event, EventType
from webhooks.tasks import webhook_deliver_task
from webhooks.transport import Outcome, post, secret_generate, signature, url_check

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Retries due within this many seconds ride on a delayed message; later ones are
# left to the sweeper (a Redis broker redelivers delayed messages held past its
# visibility timeout, so long countdowns would be sent more than once).
COUNTDOWN_MAX_SECONDS = 600


# --- Endpoints ---------------------------------------------------------------------


def endpoint_create(*, owner, url: str, events: list[str]) -> Endpoint:
    """A new, active endpoint with a fresh secret; its URL checked (``url_check``)."""
    url_check(url)
    return Endpoint.objects.create(owner=owner, url=url, events=events, secret=secret_generate())


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, data: dict[str, Any]) -> Endpoint:
    """Change url, events or active. Deactivating stops the pending retries: they are
    cancelled, and reactivating does not bring them back."""
    if "url" in data and data["url"] != endpoint.url:
        url_check(data["url"])
    for field in ("url", "events", "active"):
        if field in data:
            setattr(endpoint, field, data[field])
    endpoint.save()
    if not endpoint.active:
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED, finished_at=timezone.now(), claimed_until=None
        )
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Its deliveries and their attempts go with it; a send in flight records nothing."""
    endpoint.delete()


# --- Events (the outbox) -------------------------------------------------------------


def event_id_generate() -> str:
    """``evt_`` + milliseconds (hex, so ids sort by time) + 64 random bits."""
    return f"evt_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"


def event_publish(*, user_id: int, type: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> Event | None:
    """Record an event for the user's active endpoints that subscribe to ``type``, and
    queue one delivery per endpoint after commit. Call it inside the transaction of
    the change: the event commits or rolls back with it.

    Cheap when nobody listens: one indexed query, and ``data`` may be a callable so
    that the object is serialized only when some endpoint will receive it."""
    endpoints = [
        pk
        for pk, events in Endpoint.objects.filter(owner_id=user_id, active=True).values_list("pk", "events")
        if type in events
    ]
    if not endpoints:
        return None
    return _event_write(user_id=user_id, type=type, data=data() if callable(data) else data, endpoint_ids=endpoints)


def _event_write(*, user_id: int, type: str, data: dict[str, Any], endpoint_ids: list[int]) -> Event:
    # Decimals, dates and UUIDs as the API renders them, so the body is plain JSON.
    plain = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    event = Event.objects.create(id=event_id_generate(), owner_id=user_id, type=type, data=plain)
    deliveries = Delivery.objects.bulk_create(
        Delivery(event=event, endpoint_id=pk, next_attempt_at=event.created_at) for pk in endpoint_ids
    )
    for delivery in deliveries:
        webhook_deliver_task.delay_on_commit(delivery.pk)
    return event


@transaction.atomic
def endpoint_test_send(*, endpoint: Endpoint) -> Event:
    """A ``webhook.test`` event to this endpoint alone, whatever its event list; delivered,
    recorded and retried like any other."""
    from webhooks.api.serializers import endpoint_representation  # the API module imports this one

    if not endpoint.active:
        raise Conflict("This endpoint is inactive; set active to true before sending a test event.")
    return _event_write(
        user_id=endpoint.owner_id,
        type=EventType.WEBHOOK_TEST,
        data=endpoint_representation(endpoint),
        endpoint_ids=[endpoint.pk],
    )


def event_body(event: Event) -> bytes:
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "timestamp": rendered(DATETIME, event.created_at),
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


# --- Delivery --------------------------------------------------------------------------


def retry_delay(*, attempt: int) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (from 1), or None when the
    schedule is spent. Jitter only lengthens a wait (up to 20%), so the schedule's sum
    is the least time a delivery is retried for."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    return float(schedule[attempt - 1]) * random.uniform(1.0, 1.2)  # noqa: S311  (jitter, not a secret)


def _claim_lease() -> timedelta:
    """How long a send may hold its delivery: past the task's hard time limit (tasks.py)."""
    return timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + 15)


def _unclaimed() -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=timezone.now())


def _delivery_claim(*, delivery_id: int) -> DeliveryAttempt | None:
    """Take the delivery for one attempt, or return None if it is not ours to send now.

    A first read without locks turns away, in one query, the messages that have
    nothing to do (done, not yet due, or the endpoint's slots all busy: the send in
    flight will take this delivery when it ends). The decision itself is made under
    the endpoint row's lock, so claims for one endpoint decide one after the other: at
    most WEBHOOKS_ENDPOINT_CONCURRENCY sends per endpoint are in flight, which keeps a
    slow receiver from holding more workers than that. The conditional update is the
    claim: of two messages for one delivery exactly one changes the row. An attempt
    left unfinished by a worker that died is closed as abandoned."""
    now = timezone.now()
    busy = Q(endpoint__deliveries__status=DeliveryStatus.PENDING, endpoint__deliveries__claimed_until__gt=now)
    candidate = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(_unclaimed(), endpoint__active=True)
        .annotate(busy=Count("endpoint__deliveries", filter=busy))
        .values("endpoint_id", "busy")
        .first()
    )
    if candidate is None or candidate["busy"] >= settings.WEBHOOKS_ENDPOINT_CONCURRENCY:
        return None
    return _delivery_claim_locked(delivery_id=delivery_id, endpoint_id=candidate["endpoint_id"])


@transaction.atomic
def _delivery_claim_locked(*, delivery_id: int, endpoint_id: int) -> DeliveryAttempt | None:
    now = timezone.now()
    endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id, active=True).first()
    if endpoint is None:
        return None
    in_flight = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING, claimed_until__gt=now)
    if in_flight.exclude(pk=delivery_id).count() >= settings.WEBHOOKS_ENDPOINT_CONCURRENCY:
        return None
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(_unclaimed())
        .update(claimed_until=now + _claim_lease(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    row = Delivery.objects.select_related("event").get(pk=delivery_id)
    if row.attempts > 1:
        DeliveryAttempt.objects.filter(delivery_id=delivery_id, finished_at__isnull=True).update(
            finished_at=now, error="abandoned: no outcome was recorded (the worker stopped during the call)"
        )
    return DeliveryAttempt.objects.create(
        delivery=row, endpoint=endpoint, event=row.event, number=row.attempts, attempted_at=now
    )


def webhook_deliver(*, delivery_id: int) -> DeliveryAttempt | None:
    """Send one attempt of a delivery and record its outcome; None if it was not due,
    already taken, finished, or its endpoint is inactive or gone.

    2xx ends the delivery; anything else schedules the next attempt from
    WEBHOOKS_RETRY_SCHEDULE, or marks it failed when the schedule is spent. While
    it holds the endpoint's slot, the task goes on with the endpoint's next due
    deliveries for up to WEBHOOKS_DRAIN_SECONDS (no broker round trip between them),
    then hands what is left to fresh messages. Returns the first attempt."""
    first = attempt = _delivery_claim(delivery_id=delivery_id)
    if first is None:
        return None
    deadline = time.monotonic() + settings.WEBHOOKS_DRAIN_SECONDS
    while attempt is not None:
        _attempt_send(attempt)
        if time.monotonic() >= deadline:
            break
        due = _endpoint_due(endpoint_id=first.endpoint_id, now=timezone.now(), limit=1)
        attempt = _delivery_claim_locked(delivery_id=due[0], endpoint_id=first.endpoint_id) if due else None
    for pk in _endpoint_due(endpoint_id=first.endpoint_id, now=timezone.now()):
        webhook_deliver_task.publish_quietly((pk,))
    return first


def _attempt_send(attempt: DeliveryAttempt) -> None:
    endpoint, event = attempt.endpoint, attempt.event
    body = event_body(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "four-products-webhooks/1",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=endpoint.secret, msg_id=event.id, timestamp=timestamp, body=body),
    }
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    started = time.monotonic()
    try:
        outcome = post(url=endpoint.url, body=body, headers=headers, timeout=timeout)
    except SoftTimeLimitExceeded:
        # A receiver that trickles its answer past the socket timeouts.
        elapsed = int((time.monotonic() - started) * 1000)
        outcome = Outcome(status_code=None, error=f"timeout: no answer within {timeout:g} s", duration_ms=elapsed)
    _attempt_finish(attempt=attempt, outcome=outcome)
    logger.info(
        "webhook %s to endpoint %s attempt %d: %s",
        event.id,
        endpoint.pk,
        attempt.number,
        outcome.error or outcome.status_code,
    )


@transaction.atomic
def _attempt_finish(*, attempt: DeliveryAttempt, outcome: Outcome) -> None:
    now = timezone.now()
    attempt.finished_at, attempt.succeeded = now, outcome.succeeded
    attempt.status_code, attempt.error, attempt.duration_ms = outcome.status_code, outcome.error, outcome.duration_ms
    if not DeliveryAttempt.objects.filter(pk=attempt.pk, finished_at__isnull=True).update(
        finished_at=now,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
    ):
        return  # the endpoint was deleted, or the attempt was closed as abandoned meanwhile
    ours = Delivery.objects.filter(pk=attempt.delivery_id, attempts=attempt.number, status=DeliveryStatus.PENDING)
    if outcome.succeeded:
        ours.update(status=DeliveryStatus.SUCCEEDED, finished_at=now, claimed_until=None)
    else:
        delay = retry_delay(attempt=attempt.number)
        if delay is None:
            ours.update(status=DeliveryStatus.FAILED, finished_at=now, claimed_until=None)
        elif ours.update(next_attempt_at=now + timedelta(seconds=delay), claimed_until=None) and (
            delay <= COUNTDOWN_MAX_SECONDS
        ):
            webhook_deliver_task.apply_async_on_commit((attempt.delivery_id,), countdown=delay)


def _endpoint_due(*, endpoint_id: int, now: datetime, limit: int | None = None) -> list[int]:
    """The endpoint's due, unheld deliveries, oldest first (as many as it has free slots)."""
    return list(
        Delivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or settings.WEBHOOKS_ENDPOINT_CONCURRENCY]
    )


# --- Sweeper ----------------------------------------------------------------------------


def webhook_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-drive deliveries due for longer than WEBHOOKS_SWEEP_AFTER_SECONDS whose message
    was lost (broker down at commit, worker killed, a claim that expired); return the
    ids published. One per free slot of each endpoint, oldest first; the send
    queues the next. The conditional update of ``next_attempt_at`` makes concurrent
    sweepers publish each delivery once."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.WEBHOOKS_SWEEP_AFTER_SECONDS)
    busy = set(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, claimed_until__gt=now).values_list(
            "endpoint_id", flat=True
        )
    )
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=overdue, endpoint__active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "endpoint_id", "next_attempt_at")[:SWEEP_BATCH]
    )
    taken: dict[int, int] = {}
    published = []
    for pk, endpoint_id, due_at in rows:
        if endpoint_id in busy or taken.get(endpoint_id, 0) >= settings.WEBHOOKS_ENDPOINT_CONCURRENCY:
            continue
        if not Delivery.objects.filter(pk=pk, status=DeliveryStatus.PENDING, next_attempt_at=due_at).update(
            next_attempt_at=now
        ):
            continue  # another sweeper or a worker took it
        if not webhook_deliver_task.publish_quietly((pk,)):
            Delivery.objects.filter(pk=pk, next_attempt_at=now).update(next_attempt_at=due_at)
            break  # the broker is down: the next sweep tries again
        taken[endpoint_id] = taken.get(endpoint_id, 0) + 1
        published.append(pk)
    if published:
        logger.info("webhooks sweeper re-enqueued %d deliveries", len(published))
    return published
