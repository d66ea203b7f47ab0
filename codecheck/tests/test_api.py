"""The partner API: files and checks, owner-only, documented errors."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from codecheck.models import Check, CodeFile
from codecheck.tests.conftest import upload
from codecheck.tests.factories import CheckFactory, CodeFileFactory, FindingFactory

pytestmark = pytest.mark.django_db

FILES = reverse("codecheck-api:file-list")
CHECKS = reverse("codecheck-api:check-list")
NOT_PY = "Only Python source files ending in .py are accepted; 'notes.txt' is not one."
NOT_TEXT = "bin.py is not text: save it as UTF-8 (or declare its encoding in a '# -*- coding: ... -*-' line)."
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."


def _file_body(code_file: CodeFile) -> dict:
    return {
        "id": code_file.pk,
        "name": code_file.name,
        "status": code_file.status,
        "version": code_file.version,
        "size": code_file.size,
        "created_at": code_file.created_at.isoformat().replace("+00:00", "Z"),
        "uploaded_at": code_file.uploaded_at.isoformat().replace("+00:00", "Z"),
    }


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _check_body(check: Check) -> dict:
    return {
        "id": check.pk,
        "file": {"id": check.file.pk, "name": check.file.name, "deleted": check.file.is_deleted},
        "version": check.version,
        "passed": check.passed,
        "error": check.error,
        "findings_count": check.findings_count,
        "findings": [
            {"line": f.line, "column": f.column, "code": f.code, "message": f.message} for f in check.findings.all()
        ],
        "new_findings": check.new_findings,
        "fixed_findings": check.fixed_findings,
        "started_at": _iso(check.started_at),
        "finished_at": _iso(check.finished_at),
        "created_at": _iso(check.created_at),
        "email_sent": check.email_sent,
        "email_sent_at": _iso(check.email_sent_at),
        "email_error": check.email_error,
    }


def _page(results: list) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": results}


def test_upload_creates_a_new_file(auth_client, user):
    response = auth_client.post(FILES, {"file": upload("app.py", b"x = 1\n")}, format="multipart")

    code_file = CodeFile.objects.get()
    assert response.status_code == HTTPStatus.CREATED
    assert response.json() == _file_body(code_file)
    assert (code_file.owner, code_file.name, code_file.status, code_file.version) == (user, "app.py", "new", 1)


def test_upload_of_an_existing_name_overwrites_it(auth_client, user):
    auth_client.post(FILES, {"file": upload("app.py", b"x = 1\n")}, format="multipart")

    response = auth_client.post(FILES, {"file": upload("app.py", b"x = 22\n")}, format="multipart")

    code_file = CodeFile.objects.get()
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _file_body(code_file)
    assert (code_file.status, code_file.version, code_file.size) == ("updated", 2, 7)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"file": upload("notes.txt")}, HTTPStatus.BAD_REQUEST, {"detail": NOT_PY}),
        ({"file": upload("bin.py", b"\x00\x01")}, HTTPStatus.BAD_REQUEST, {"detail": NOT_TEXT}),
        ({}, HTTPStatus.BAD_REQUEST, {"file": ["No file was submitted."]}),
        ({"file": "not a file"}, HTTPStatus.BAD_REQUEST, {"file": [NOT_A_FILE]}),
    ],
)
def test_upload_rejects_bad_input_and_writes_nothing(auth_client, body, status, detail):
    response = auth_client.post(FILES, body, format="multipart")

    assert response.status_code == status
    assert response.json() == detail
    assert not CodeFile.objects.exists()


def test_upload_over_the_limit_is_413(auth_client, settings):
    settings.CODECHECK_MAX_UPLOAD_BYTES = 8

    response = auth_client.post(FILES, {"file": upload("big.py", b"x = 123456\n")}, format="multipart")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "big.py is 11 bytes; the limit is 8 bytes."}
    assert not CodeFile.objects.exists()


def test_an_empty_module_is_accepted(auth_client):
    response = auth_client.post(FILES, {"file": upload("__init__.py", b"")}, format="multipart")

    assert response.status_code == HTTPStatus.CREATED
    assert (response.json()["name"], response.json()["size"]) == ("__init__.py", 0)


def test_upload_as_json_is_415(auth_client):
    response = auth_client.post(FILES, {"file": "x = 1"}, format="json")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert not CodeFile.objects.exists()


def test_anonymous_is_401(api_client):
    responses = [api_client.get(FILES), api_client.get(CHECKS), api_client.post(FILES, {}, format="multipart")]

    assert [r.status_code for r in responses] == [HTTPStatus.UNAUTHORIZED] * 3


def test_list_shows_only_my_active_files(auth_client, user, other_user):
    mine = CodeFileFactory(owner=user)
    CodeFileFactory(owner=user, deleted_at=timezone.now())
    CodeFileFactory(owner=other_user)

    response = auth_client.get(FILES)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == _page([_file_body(mine)])


def test_detail_get(auth_client, user):
    code_file = CodeFileFactory(owner=user)

    response = auth_client.get(reverse("codecheck-api:file-detail", args=[code_file.pk]))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == _file_body(code_file)


def test_put_overwrites_and_bumps_the_version(auth_client, user):
    code_file = CodeFileFactory(owner=user, status=CodeFile.Status.CHECKED)

    response = auth_client.put(
        reverse("codecheck-api:file-detail", args=[code_file.pk]),
        {"file": upload("x.py", b"y = 1\n")},
        format="multipart",
    )

    code_file.refresh_from_db()
    assert response.status_code == HTTPStatus.OK
    assert response.json() == _file_body(code_file)
    assert (code_file.status, code_file.version) == ("updated", 2)


def test_put_rejects_a_non_python_upload_and_keeps_the_file(auth_client, user):
    code_file = CodeFileFactory(owner=user, status=CodeFile.Status.CHECKED)

    response = auth_client.put(
        reverse("codecheck-api:file-detail", args=[code_file.pk]), {"file": upload("x.txt")}, format="multipart"
    )

    code_file.refresh_from_db()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert (code_file.status, code_file.version) == ("checked", 1)


def test_delete_hides_the_file_and_keeps_its_checks(auth_client, user):
    code_file = CodeFileFactory(owner=user)
    check = CheckFactory(file=code_file)
    url = reverse("codecheck-api:file-detail", args=[code_file.pk])

    response = auth_client.delete(url)

    check.refresh_from_db()
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert auth_client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert auth_client.get(FILES).json() == _page([])
    assert auth_client.get(CHECKS).json() == _page([_check_body(check)])
    assert auth_client.get(CHECKS).json()["results"][0]["file"]["deleted"] is True


@pytest.mark.parametrize("method", ["get", "put", "delete", "checks"])
def test_another_users_file_is_404(auth_client, other_user, method):
    code_file = CodeFileFactory(owner=other_user, status=CodeFile.Status.CHECKED)
    url = reverse("codecheck-api:file-detail", args=[code_file.pk])

    if method == "checks":
        response = auth_client.get(reverse("codecheck-api:file-checks", args=[code_file.pk]))
    elif method == "put":
        response = auth_client.put(url, {"file": upload()}, format="multipart")
    else:
        response = getattr(auth_client, method)(url)

    code_file.refresh_from_db()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "No such file: it does not exist, was deleted, or is not yours."}
    assert (code_file.deleted_at, code_file.version) == (None, 1)


def test_a_huge_id_is_404_not_500(auth_client):
    response = auth_client.get(reverse("codecheck-api:file-detail", args=[2**64]))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_file_checks_lists_the_history_newest_first(auth_client, user):
    code_file = CodeFileFactory(owner=user, version=2)
    first = CheckFactory(file=code_file, version=1, passed=False, findings_count=1)
    FindingFactory(check_log=first, line=4, column=2, code="E225", message="missing whitespace around operator")
    second = CheckFactory(file=code_file, version=2, email_sent=True, email_sent_at=timezone.now())
    CheckFactory(file=CodeFileFactory(owner=user))

    response = auth_client.get(reverse("codecheck-api:file-checks", args=[code_file.pk]))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == _page([_check_body(second), _check_body(first)])
    assert response.json()["results"][1]["findings"] == [
        {"line": 4, "column": 2, "code": "E225", "message": "missing whitespace around operator"}
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["sent_failed", "unsent_passed"]),
        ({"page_size": "5", "unknown": "1"}, ["sent_failed", "unsent_passed"]),  # names no filter
        ({"passed": "true"}, ["unsent_passed"]),
        ({"passed": "false"}, ["sent_failed"]),
        ({"email_sent": "true"}, ["sent_failed"]),
        ({"email_sent": "false", "passed": "false"}, []),
    ],
)
def test_check_list_filters_by_passed_and_email_sent(auth_client, user, other_user, query, expected):
    checks = {
        "unsent_passed": CheckFactory(file=CodeFileFactory(owner=user), passed=True),
        "sent_failed": CheckFactory(
            file=CodeFileFactory(owner=user), passed=False, email_sent=True, email_sent_at=timezone.now()
        ),
    }
    CheckFactory(file=CodeFileFactory(owner=other_user))

    response = auth_client.get(CHECKS, query)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == _page([_check_body(checks[name]) for name in expected])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"passed": "maybe"}, {"passed": ["Must be a valid boolean."]}),
        ({"email_sent": "null"}, {"email_sent": ["Must be a valid boolean."]}),
    ],
)
def test_check_list_rejects_a_bad_filter(auth_client, query, expected):
    response = auth_client.get(CHECKS, query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == expected


def test_files_are_paginated(auth_client, user):
    CodeFileFactory.create_batch(3, owner=user)

    response = auth_client.get(FILES, {"page_size": 2})
    missing = auth_client.get(FILES, {"page": 9})

    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 2
    assert response.json()["next"] is not None
    assert missing.status_code == HTTPStatus.NOT_FOUND


def test_schema_documents_the_codecheck_endpoints(api_client):
    response = api_client.get(reverse("schema"), {"format": "json"})

    paths = response.json()["paths"]
    assert set(paths["/api/codecheck/files/"]) == {"get", "post"}
    assert {"get", "put", "delete"} <= set(paths["/api/codecheck/files/{id}/"])
    put = paths["/api/codecheck/files/{id}/"]["put"]
    assert set(put["responses"]) == {"200", "400", "401", "404", "413", "414", "415", "503"}
    assert {"200", "201", "400", "401", "413", "415"} <= set(paths["/api/codecheck/files/"]["post"]["responses"])
    assert "multipart/form-data" in paths["/api/codecheck/files/"]["post"]["requestBody"]["content"]
    assert set(paths["/api/codecheck/checks/"]["get"]["responses"]) == {"200", "400", "401", "404", "414", "503"}
