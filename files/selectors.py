"""Reads of files, already narrowed to what the user may see."""

from django.db.models import QuerySet

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
