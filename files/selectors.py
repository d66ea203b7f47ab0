"""Reads of files, already narrowed to what the user may see."""

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Min, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from config.filters import StrictFilterSet
from files.models import File

SHA256_PATTERN = "^[0-9a-fA-F]{64}$"


class Sha256FormField(forms.CharField):
    """64 hex digits, either case, read as lowercase. Present but empty is an
    error too (django-filter would read it as "no filter")."""

    def clean(self, value):
        if value is None:
            return None
        if not re.fullmatch(SHA256_PATTERN, value):
            raise ValidationError("Enter a SHA-256 digest: 64 hexadecimal characters.", code="invalid")
        return value.lower()


@extend_schema_field({"type": "string", "pattern": SHA256_PATTERN})
class Sha256Filter(django_filters.CharFilter):
    field_class = Sha256FormField


class FileFilter(StrictFilterSet):
    """``?status=``, ``?kind=`` and ``?sha256=``. Declared once: a view's
    ``filterset_fields`` makes django-filter build a new FilterSet class on every request."""

    sha256 = Sha256Filter(help_text="Only files whose bytes have this SHA-256 (64 hex digits).")

    class Meta:
        model = File
        fields = ["status", "kind", "sha256"]


def file_list(*, user) -> QuerySet[File]:
    """The user's own files; staff see everyone's."""
    files = File.objects.all()
    return files if user.is_staff else files.filter(owner=user)


def file_get(*, user, pk: int) -> File | None:
    return file_list(user=user).filter(pk=pk).first()


def file_backlog_counts() -> dict[tuple[str, ...], float]:
    """Files waiting for processing, by status (both statuses always present)."""
    waiting = (File.Status.PENDING, File.Status.PROCESSING)
    counts = dict(File.objects.filter(status__in=waiting).values_list("status").annotate(n=Count("pk")).order_by())
    return {(status.value,): counts.get(status.value, 0) for status in waiting}


def file_backlog_oldest_age_seconds() -> float:
    """How long the oldest file still pending or processing has waited since its upload (0: none)."""
    oldest = File.objects.filter(status__in=(File.Status.PENDING, File.Status.PROCESSING)).aggregate(
        oldest=Min("uploaded_at")
    )["oldest"]
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0
