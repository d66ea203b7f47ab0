"""The file answer built directly renders byte-for-byte what DRF's generic walk renders."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from files.api.serializers import FileOutputSerializer
from files.models import File
from files.tests.factories import FileFactory

pytestmark = pytest.mark.django_db


class GenericFileSerializer(serializers.ModelSerializer):
    """The oracle: the same fields through DRF's own field walk; only the two links are methods."""

    file = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = FileOutputSerializer.Meta.fields

    def get_file(self, obj: File) -> str:
        return self.context["request"].build_absolute_uri(f"/api/files/{obj.pk}/download/")

    def get_thumbnail(self, obj: File) -> str | None:
        return self.context["request"].build_absolute_uri(f"/api/files/{obj.pk}/thumbnail/") if obj.thumbnail else None


def test_files_render_as_drfs_generic_serializer():
    FileFactory(original_name="Отчёт «итог».txt")
    FileFactory(
        status=File.Status.DONE,
        processed=True,
        result={"lines": 3, "слова": ["ü", None]},
        error="",
        thumbnail="thumbnails/t.png",
        uploaded_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        processing_started_at=datetime(2026, 1, 2, 3, 4, 6, tzinfo=timezone(timedelta(hours=3))),
        processed_at=datetime(2026, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        attempts=2,
    )
    rows = list(File.objects.order_by("pk"))
    request = Request(APIRequestFactory().get("/api/files/"))

    ours = FileOutputSerializer(rows, many=True, context={"request": request}).data
    theirs = GenericFileSerializer(rows, many=True, context={"request": request}).data

    assert JSONRenderer().render(ours) == JSONRenderer().render(theirs)
    assert ours[1]["processed_at"] == "2026-12-31T23:59:59.000001Z"
