"""X-Request-ID: kept when sane, made otherwise, and carried into the tasks a request enqueues."""

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import wait_until
from files.models import File

UPLOAD = reverse("files-api:upload")


@pytest.mark.parametrize("sent", ["abc-123", "a.b:c_d-e", "x" * 200])
def test_a_sane_client_id_is_kept(api_client, sent):
    response = api_client.get("/health/", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] == sent


@pytest.mark.parametrize("sent", [None, "", "x" * 201, "has space", "slash/no", "кириллица", "a\tb"])
def test_anything_else_gets_a_new_id(api_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    first = api_client.get("/api/nothing-here/", **headers)
    second = api_client.get("/api/nothing-here/", **headers)

    assert first.status_code == HTTPStatus.NOT_FOUND
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != sent
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.e2e
def test_a_task_runs_under_the_id_of_the_request_that_enqueued_it(celery_worker, auth_client):
    response = auth_client.post(
        UPLOAD,
        {"file": SimpleUploadedFile("notes.txt", b"one two three\n")},
        format="multipart",
        HTTP_X_REQUEST_ID="upload-7f3a",
    )
    pk = response.json()["id"]
    wait_until(lambda: File.objects.get(pk=pk).status == File.Status.DONE, timeout=30)

    log = wait_until(lambda: _succeeded_line(celery_worker.log_path.read_text(), pk), timeout=10)

    assert response["X-Request-ID"] == "upload-7f3a"
    assert log.endswith("request_id=upload-7f3a")


def _succeeded_line(log: str, pk: int) -> str | None:
    for line in log.splitlines():
        if "task succeeded name=files.tasks.file_process_task" in line and f"args=[{pk}]" in line:
            return line.strip()
    return None
