"""Input and output shapes of the files API."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.representation import DATETIME, rendered
from files.models import File


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class NonEmptyFileField(serializers.FileField):
    """A file of at least one byte (the schema says so too)."""

    def __init__(self, **kwargs):
        super().__init__(allow_empty_file=False, use_url=False, **kwargs)


class FileUploadInputSerializer(serializers.Serializer):
    file = NonEmptyFileField()


class FileOutputSerializer(serializers.ModelSerializer):
    """The declared fields give the schema; ``to_representation`` builds the same
    dict directly (``config/representation.py``): DRF's generic field walk was most
    of a list request's time (docs/benchmarks.md)."""

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
            "sha256",
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

    def _files_url(self) -> str:
        """The absolute URL of the list, computed once per response; item links extend it."""
        root = self.root.context.get("_files_url") if self.root is not self else None
        if root is None:
            root = reverse("files-api:file-list")
            request = self.context.get("request")
            if request is not None:
                root = request.build_absolute_uri(root)
            if self.root is not self:
                self.root.context["_files_url"] = root  # type: ignore[index]  # a dict at run time
        return root

    @extend_schema_field(OpenApiTypes.URI)
    def get_file(self, obj: File) -> str:
        return f"{self._files_url()}{obj.pk}/download/"

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail(self, obj: File) -> str | None:
        return f"{self._files_url()}{obj.pk}/thumbnail/" if obj.thumbnail else None

    def to_representation(self, instance: File) -> dict:
        return {
            "id": instance.pk,
            "owner": instance.owner_id,
            "file": self.get_file(instance),
            "original_name": instance.original_name,
            "size": instance.size,
            "sha256": instance.sha256,
            "content_type": instance.content_type,
            "kind": instance.kind,
            "status": instance.status,
            "processed": instance.processed,
            "result": instance.result,
            "error": instance.error,
            "thumbnail": self.get_thumbnail(instance),
            "uploaded_at": rendered(DATETIME, instance.uploaded_at),
            "processing_started_at": rendered(DATETIME, instance.processing_started_at),
            "processed_at": rendered(DATETIME, instance.processed_at),
            "attempts": instance.attempts,
        }
