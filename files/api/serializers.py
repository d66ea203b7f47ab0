"""Input and output shapes of the files API."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from files.models import File


class FileUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, use_url=False)


class FileOutputSerializer(serializers.ModelSerializer):
    file = serializers.SerializerMethodField(help_text="Download link (authenticated; served as an attachment).")
    thumbnail = serializers.SerializerMethodField(help_text="Thumbnail link for processed images, else null.")

    class Meta:
        model = File
        fields = [
            "id",
            "owner",
            "file",
            "original_name",
            "size",
            "content_type",
            "kind",
            "status",
            "processed",
            "result",
            "error",
            "thumbnail",
            "uploaded_at",
            "processing_started_at",
            "processed_at",
            "attempts",
        ]
        read_only_fields = fields

    def _url(self, name: str, obj: File) -> str:
        url = reverse(f"files-api:{name}", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(OpenApiTypes.URI)
    def get_file(self, obj: File) -> str:
        return self._url("file-download", obj)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail(self, obj: File) -> str | None:
        return self._url("file-thumbnail", obj) if obj.thumbnail else None
