"""Reads of webhooks: a user's endpoints and their delivery attempts."""

from django.db.models import QuerySet
from django.utils import timezone

from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint


def endpoint_list(*, user) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(owner=user).order_by("-created_at", "-pk")


def endpoint_get(*, user, pk: int) -> Endpoint | None:
    """The user's endpoint, or None (another user's endpoint is not found either)."""
    return endpoint_list(user=user).filter(pk=pk).first()


def attempt_list(*, endpoint: Endpoint) -> QuerySet[DeliveryAttempt]:
    return (
        DeliveryAttempt.objects.filter(endpoint=endpoint)
        .select_related("event")
        .only(
            "pk",
            "event_id",
            "event__type",
            "number",
            "attempted_at",
            "succeeded",
            "status_code",
            "error",
            "duration_ms",
            "finished_at",
        )
        .order_by("-attempted_at", "-pk")
    )


def delivery_due_count() -> int:
    """Pending deliveries whose next attempt is due now (the /metrics backlog)."""
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()).count()
