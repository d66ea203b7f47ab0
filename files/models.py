"""An uploaded file and what processing found in it."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def file_upload_to(instance: "File", filename: str) -> str:
    """A generated name: nothing the client sent reaches the storage path."""
    return f"files/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class File(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    class Kind(models.TextChoices):
        IMAGE = "image"
        TEXT = "text"
        CSV = "csv"
        PDF = "pdf"
        ZIP = "zip"
        JSON = "json"
        BINARY = "binary"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=file_upload_to, max_length=255)
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed = models.BooleanField(default=False)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    # Lowercase hex SHA-256 of the bytes, computed while the upload streams; indexed for ``?sha256=``.
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=127)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    thumbnail = models.FileField(max_length=255, blank=True)
    # When a message for this row was last published; the sweeper re-drives stale ones.
    queued_at = models.DateTimeField(default=timezone.now)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Incremented by every claim; a finishing attempt must still hold its number (a fencing token).
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        indexes = [
            # The list: one owner's files, newest first.
            models.Index(fields=["owner", "-uploaded_at", "-id"], name="files_owner_uploaded_idx"),
            # The sweeper: stale pending/processing rows.
            models.Index(fields=["status", "queued_at"], name="files_status_queued_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(processed=False) | models.Q(status="done"), name="files_processed_only_when_done"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.kind}, {self.status})"
