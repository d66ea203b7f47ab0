"""Webhook endpoints, the outbox of events, and each event's delivery to each endpoint."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    FILE_PROCESSED = "file.processed"
    FILE_FAILED = "file.failed"
    CODECHECK_CHECK_COMPLETED = "codecheck.check.completed"
    DEALS_DATASET_REPLACED = "deals.dataset.replaced"
    ORDER_CREATED = "order.created"
    ORDER_STATUS_CHANGED = "order.status_changed"
    # Sent by POST /api/webhooks/<id>/test/ only; an endpoint cannot subscribe to it.
    WEBHOOK_TEST = "webhook.test"


SUBSCRIBABLE = [t.value for t in EventType if t != EventType.WEBHOOK_TEST]


class Endpoint(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Event types this endpoint receives.")
    active = models.BooleanField(default=True)
    # Kept as given to the owner ("whsec_" + base64): signing needs the key itself.
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # event_publish reads a user's active endpoints on every product change.
        indexes = [models.Index(fields=["owner", "active"], name="webhooks_endpoint_owner_active")]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner_id})"


class Event(models.Model):
    """One outbox row, written in the transaction of the change it tells about."""

    id = models.CharField(primary_key=True, max_length=40)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=64, choices=EventType.choices)
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField()

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # The endpoint was deactivated while this delivery still had attempts to go.
    CANCELLED = "cancelled"


class Delivery(models.Model):
    """The state of one event's delivery to one endpoint: what is due, and who holds it."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker is sending; past it the worker is taken as lost.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhooks_delivery_ep_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> endpoint {self.endpoint_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """One POST: written before it is sent, completed with its outcome."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="attempts")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number_once")]
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhooks_attempt_ep_time")]

    def __str__(self) -> str:
        return f"{self.event_id} attempt {self.number}"
