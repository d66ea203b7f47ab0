"""Reads of files, already narrowed to what the user may see."""

from django.db.models import QuerySet

from config.filters import StrictFilterSet
from files.models import File


class FileFilter(StrictFilterSet):
    class Meta:
        model = File
        fields = ["status", "kind"]


def file_list(*, user) -> QuerySet[File]:
    """The user's own files; staff see everyone's."""
    files = File.objects.all()
    return files if user.is_staff else files.filter(owner=user)


def file_get(*, user, pk: int) -> File | None:
    return file_list(user=user).filter(pk=pk).first()
