"""End to end: the API, a real Celery worker process, Redis and the database."""

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import broker_outage, wait_until
from files.models import File
from files.services import file_sweep
from files.tasks import file_process_task, file_sweep_task
from files.tests.conftest import stored_files
from files.tests.samples import image_bytes, pdf_bytes

pytestmark = [pytest.mark.e2e]

UPLOAD = reverse("files-api:upload")


def finished(pk: int) -> File | None:
    file = File.objects.get(pk=pk)
    return file if file.status in (File.Status.DONE, File.Status.FAILED) else None


def completions(worker, pk: int) -> int:
    """How many times a worker recorded an outcome for this file (its log is the witness)."""
    return worker.log_path.read_text().count(f"file {pk} processed:")


@pytest.fixture
def slow_worker(monkeypatch, request):
    """A real worker whose every processing attempt takes 3 s, long enough to be killed in."""
    monkeypatch.setenv("FILES_PROCESS_DELAY_SECONDS", "3")
    return request.getfixturevalue("celery_worker")


def test_upload_is_processed_by_a_worker_once(celery_worker, auth_client):
    response = auth_client.post(
        UPLOAD, {"file": SimpleUploadedFile("report.pdf", pdf_bytes(["Total: 42"]))}, format="multipart"
    )
    assert (response.status_code, response.json()["status"]) == (HTTPStatus.CREATED, "pending")
    pk = response.json()["id"]

    file = wait_until(lambda: finished(pk), timeout=30)

    assert (file.status, file.processed, file.kind, file.attempts) == ("done", True, "pdf", 1)
    assert file.result == {"pages": 1, "encrypted": False, "has_text": True}
    body = auth_client.get(reverse("files-api:file-detail", kwargs={"pk": pk})).json()
    assert (body["status"], body["processed"], body["result"]) == ("done", True, file.result)

    # A duplicate message (as a redelivery would be) changes nothing.
    file_process_task.delay(pk)
    wait_until(lambda: f"file {pk} is not pending" in celery_worker.log_path.read_text(), timeout=20)
    again = File.objects.get(pk=pk)
    assert (again.processed_at, again.attempts, completions(celery_worker, pk)) == (file.processed_at, 1, 1)


def test_worker_killed_mid_task_still_ends_done_once(transactional_db, slow_worker, auth_client, settings, media_root):
    settings.FILES_STALE_AFTER_SECONDS = 0  # the sweeper in this process presumes the killed worker dead at once
    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("p.png", image_bytes())}, format="multipart")
    pk = response.json()["id"]
    wait_until(lambda: File.objects.get(pk=pk).status == File.Status.PROCESSING, timeout=20)

    slow_worker.kill()

    file = File.objects.get(pk=pk)
    assert (file.status, file.processed, file.attempts) == ("processing", False, 1)
    # Redis hands an unacked message back only after its visibility timeout (an hour): the sweeper re-drives it.
    assert file_sweep() == [pk]
    slow_worker.start()
    file = wait_until(lambda: finished(pk), timeout=40)
    assert (file.status, file.processed, file.attempts, file.result["format"]) == ("done", True, 2, "PNG")
    assert completions(slow_worker, pk) == 1
    assert stored_files(media_root) == sorted([file.file.name, file.thumbnail.name])


def test_upload_while_the_broker_is_down_is_processed_after_the_sweep(transactional_db, auth_client, settings, request):
    with broker_outage():
        response = auth_client.post(
            UPLOAD, {"file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n3,4\n")}, format="multipart"
        )

    assert (response.status_code, response.json()["status"]) == (HTTPStatus.CREATED, "pending")
    pk = response.json()["id"]
    worker = request.getfixturevalue("celery_worker")  # purges the queue: nothing was published
    settings.FILES_STALE_AFTER_SECONDS = 0

    file_sweep_task.apply()  # what beat runs; executed here, it publishes to the real broker

    file = wait_until(lambda: finished(pk), timeout=30)
    assert (file.status, file.processed, file.kind, file.attempts) == ("done", True, "csv", 1)
    assert (file.result["columns"], file.result["rows"]) == (2, 2)
    assert completions(worker, pk) == 1
