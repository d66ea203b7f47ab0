"""Reads of files, already narrowed to what the user may see."""

from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from config.filters import StrictFilterSet
from files.models import File


class FileFilter(StrictFilterSet):
    """``?status=`` and ``?kind=``. Declared once: a view's ``filterset_fields`` makes
    django-filter build a new FilterSet class on every request."""

    class Meta:
        model = File
        fields = ["status", "kind"]


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
