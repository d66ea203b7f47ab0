"""Celery entry points of webhooks: thin wrappers around the services."""

from celery import shared_task
from django.conf import settings


# On the "default" queue (no route): a send waits on a receiver, never on CPU. The
# time limits bound a receiver that trickles its answer past the socket timeouts: a
# task sends for up to WEBHOOKS_DRAIN_SECONDS, then at most one more send.
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.WEBHOOKS_TIMEOUT_SECONDS + settings.WEBHOOKS_DRAIN_SECONDS + 5,
    time_limit=settings.WEBHOOKS_TIMEOUT_SECONDS + settings.WEBHOOKS_DRAIN_SECONDS + 10,
)
def webhook_deliver_task(delivery_id: int) -> None:
    from webhooks.services import webhook_deliver  # services import this module

    webhook_deliver(delivery_id=delivery_id)


@shared_task
def webhook_sweep_task() -> int:
    """Beat entry "webhooks-sweep": re-drive deliveries whose message was lost."""
    from webhooks.services import webhook_sweep

    return len(webhook_sweep())
