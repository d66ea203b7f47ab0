"""The check answer built directly renders byte-for-byte what DRF's generic walk renders."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from codecheck.api.serializers import CheckOutputSerializer
from codecheck.models import Check, CodeFile, Finding
from codecheck.selectors import check_list_for_file
from codecheck.tests.factories import CheckFactory, CodeFileFactory, FindingFactory

pytestmark = pytest.mark.django_db


class _File(serializers.ModelSerializer):
    deleted = serializers.BooleanField(source="is_deleted")

    class Meta:
        model = CodeFile
        fields = ["id", "name", "deleted"]


class _Finding(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["line", "column", "code", "message"]


class GenericCheckSerializer(serializers.ModelSerializer):
    """The oracle: the same shape through DRF's own field walk, nothing hand-built."""

    file = _File()
    findings = _Finding(many=True)

    class Meta:
        model = Check
        fields = CheckOutputSerializer.Meta.fields


def test_checks_render_as_drfs_generic_serializer():
    code_file = CodeFileFactory(version=2, deleted_at=datetime(2026, 5, 6, 7, 8, 9, 1, tzinfo=UTC))
    CheckFactory(file=code_file, version=1)
    failed = CheckFactory(
        file=code_file,
        version=2,
        passed=False,
        error="timed out «x»",
        findings_count=2,
        email_sent=True,
        email_sent_at=datetime(2026, 5, 6, 7, 8, 10, tzinfo=UTC),
    )
    FindingFactory(check_log=failed, line=3, column=80, code="E501", message="line too long (81 > 79)")
    FindingFactory(check_log=failed, line=1, column=1)
    checks = list(check_list_for_file(code_file=code_file).order_by("pk"))

    ours = JSONRenderer().render(CheckOutputSerializer(checks, many=True).data)
    oracle = JSONRenderer().render(GenericCheckSerializer(checks, many=True).data)

    assert ours == oracle
    assert b'"deleted":true' in ours
    assert b'"email_sent_at":null' in ours


@pytest.mark.parametrize("checks", [1, 5])
def test_check_list_queries_do_not_grow_with_the_page(auth_client, user, checks, django_assert_num_queries):
    code_file = CodeFileFactory(owner=user, version=checks)
    for version in range(1, checks + 1):
        check = CheckFactory(file=code_file, version=version, passed=False)
        FindingFactory(check_log=check, line=2)
        FindingFactory(check_log=check, line=1)
    auth_client.get(reverse("codecheck-api:check-list"))  # the JWT's user is cached from here on

    # The page with its total, files and findings.
    with django_assert_num_queries(1) as queries:
        response = auth_client.get(reverse("codecheck-api:check-list"))

    assert response.status_code == HTTPStatus.OK
    assert '"source"' not in queries.captured_queries[0]["sql"]  # a list shows no sources
    assert [[f["line"] for f in c["findings"]] for c in response.json()["results"]] == [[1, 2]] * checks
