"""The platform's own rows: idempotency keys (``config.idempotency``).

Django sends ``post_migrate`` only to apps with a models module, and
``config.apps`` makes the durable cache's table on it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One client's ``Idempotency-Key`` on one endpoint: claimed (a row with no
    ``response_status``) before the request runs, then holding its answer."""

    # By name, not by import: config imports no app.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    # SHA-256 of the parsed request body: a different body under the same key is refused.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The request running under the key: its random token, and when its hold lapses
    # (a request that crashed must not lock the key forever).
    claim = models.CharField(max_length=32)
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=200, blank=True)
    response_body = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="platform_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
