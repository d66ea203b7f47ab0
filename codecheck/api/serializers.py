"""Input and output shapes of the codecheck API."""

from rest_framework import serializers
from rest_framework.fields import empty

from codecheck.models import Check, CodeFile, Finding
from config.representation import DATETIME, rendered


class CodeFileUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="A .py file (UTF-8 or its declared encoding), at most 256 KB by default. An empty module is fine.",
    )


class CodeFileOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CodeFile
        fields = ["id", "name", "status", "version", "size", "created_at", "uploaded_at"]


class FindingOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["line", "column", "code", "message"]


class FindingChangeOutputSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="In the version checked; for a fixed finding, in the earlier version.")
    column = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class CheckFileOutputSerializer(serializers.ModelSerializer):
    deleted = serializers.BooleanField(source="is_deleted")

    class Meta:
        model = CodeFile
        fields = ["id", "name", "deleted"]


class CheckOutputSerializer(serializers.ModelSerializer):
    file = CheckFileOutputSerializer()
    findings = FindingOutputSerializer(many=True)
    new_findings = FindingChangeOutputSerializer(
        many=True, help_text="Findings the previous checked version of this file did not have; empty on a first check."
    )
    fixed_findings = FindingChangeOutputSerializer(
        many=True, help_text="Findings of the previous checked version that are gone; empty on a first check."
    )

    class Meta:
        model = Check
        fields = [
            "id",
            "file",
            "version",
            "passed",
            "error",
            "findings_count",
            "findings",
            "new_findings",
            "fixed_findings",
            "started_at",
            "finished_at",
            "created_at",
            "email_sent",
            "email_sent_at",
            "email_error",
        ]

    def to_representation(self, instance: Check) -> dict:
        # The declared fields give the schema; this builds the same dict (config/representation.py).
        return {
            "id": instance.pk,
            "file": {
                "id": instance.file_id,
                "name": instance.file_name,
                "deleted": instance.file_deleted_at is not None,
            },
            "version": instance.version,
            "passed": instance.passed,
            "error": instance.error,
            "findings_count": instance.findings_count,
            "findings": [
                {"line": f["line"], "column": f["column"], "code": f["code"], "message": f["message"]}
                for f in instance.finding_list
            ],
            "new_findings": instance.new_findings,
            "fixed_findings": instance.fixed_findings,
            "started_at": rendered(DATETIME, instance.started_at),
            "finished_at": rendered(DATETIME, instance.finished_at),
            "created_at": rendered(DATETIME, instance.created_at),
            "email_sent": instance.email_sent,
            "email_sent_at": rendered(DATETIME, instance.email_sent_at),
            "email_error": instance.email_error,
        }


class _OptionalBooleanField(serializers.BooleanField):
    # In query strings DRF reads a missing boolean as False; here missing means "do not filter".
    default_empty_html = empty


class CheckFilterSerializer(serializers.Serializer):
    passed = _OptionalBooleanField(required=False)
    email_sent = _OptionalBooleanField(required=False)
