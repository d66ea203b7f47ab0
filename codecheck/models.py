"""codecheck models: uploaded Python files, every check of every version, and its findings."""

import uuid
from datetime import datetime
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


def code_file_upload_to(instance: "CodeFile", filename: str) -> str:
    # A fresh folder per version: an overwrite never clobbers the bytes a running check read.
    return f"codecheck/{instance.owner_id}/{uuid.uuid4().hex}/{PurePath(filename).name}"


class CodeFile(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        UPDATED = "updated", "Updated"
        CHECKED = "checked", "Checked"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="code_files")
    file = models.FileField(upload_to=code_file_upload_to, max_length=500)
    name = models.CharField(max_length=255)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Set by the run that is checking ``claimed_version``; stale after CODECHECK_CLAIM_TIMEOUT_SECONDS.
    claimed_version = models.PositiveIntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(deleted_at__isnull=True), name="codecheck_unique_active_name"
            ),
        ]
        indexes = [models.Index(fields=["status"], condition=Q(deleted_at__isnull=True), name="codecheck_pending_idx")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Check(models.Model):
    file = models.ForeignKey(CodeFile, on_delete=models.CASCADE, related_name="checks")
    version = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    passed = models.BooleanField()
    findings_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    email_sent = models.BooleanField(default=False)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveIntegerField(default=0)
    email_error = models.TextField(blank=True, default="")
    # Against the previous checked version of the file, fixed at check time (codecheck.review.findings_diff).
    new_findings = models.JSONField(default=list, blank=True)
    fixed_findings = models.JSONField(default=list, blank=True)
    # Annotated by codecheck.selectors: what answers show of the file, and the
    # findings in file order as dicts of its FINDING_FIELDS.
    file_name: str
    file_deleted_at: datetime | None
    finding_list: list[Any]
    # The text flake8 read (codecheck.listing.source_text): the file page shows this
    # version even after the file was replaced and its bytes removed.
    source = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The last word on "never check the same version twice".
            models.UniqueConstraint(fields=["file", "version"], name="codecheck_one_check_per_version"),
        ]
        indexes = [models.Index(fields=["email_sent", "created_at"], name="codecheck_email_idx")]

    def __str__(self) -> str:
        return f"check of {self.file_id} v{self.version}: {'passed' if self.passed else 'failed'}"


class Finding(models.Model):
    check_log = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="findings")
    line = models.PositiveIntegerField()
    column = models.PositiveIntegerField()
    code = models.CharField(max_length=16)
    message = models.TextField()

    class Meta:
        ordering = ["line", "column", "pk"]

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.code} {self.message}"
