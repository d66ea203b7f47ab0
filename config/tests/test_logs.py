"""Log lines: one per request and one per task outcome, JSON with LOG_FORMAT=json,
followed from a POST to the task it enqueued by the request id."""

import io
import json
import logging
from importlib import import_module

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.logs import json_formatter
from config.request_id import RequestIdLogFilter
from conftest import wait_until
from files.models import File

UPLOAD = reverse("files-api:upload")


@pytest.fixture
def request_lines():
    """The ``requests`` logger's lines as LOG_FORMAT=json writes them."""
    spec = json_formatter()
    module, _, name = spec.pop("()").rpartition(".")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(getattr(import_module(module), name)(**spec))
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger("requests")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_one_json_line_per_request_with_its_id_user_and_outcome(auth_client, user, request_lines):
    ok = auth_client.get(reverse("files-api:file-list"), HTTP_X_REQUEST_ID="list-1")
    missing = auth_client.get("/api/files/999999/?q=%C3%BCn%C3%AF")  # "ünï", as a client encodes it

    first, second = request_lines()

    assert first.keys() >= {"time", "level", "logger", "message"}
    assert {k: first[k] for k in ("method", "path", "status", "user_id", "request_id", "logger")} == {
        "method": "GET",
        "path": "/api/files/",
        "status": ok.status_code,
        "user_id": user.pk,
        "request_id": "list-1",
        "logger": "requests",
    }
    assert (second["status"], second["path"], first["query"]) == (404, "/api/files/999999/", "")
    assert second["query"] == "q=%C3%BCn%C3%AF"
    assert second["message"].startswith("GET /api/files/999999/?q=%C3%BCn%C3%AF 404 ")
    assert second["request_id"] == missing["X-Request-ID"]
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] > 0


def test_an_anonymous_request_has_no_user(api_client, request_lines):
    api_client.get("/health/")

    (line,) = request_lines()

    assert (line["path"], line["user_id"]) == ("/health/", None)


@pytest.mark.e2e
def test_an_upload_is_followed_from_its_post_to_its_processing(
    auth_client, user, request_lines, redis_url, tmp_path, monkeypatch, transactional_db
):
    from config.celery import app
    from conftest import CeleryWorker

    monkeypatch.setenv("LOG_FORMAT", "json")
    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    try:
        response = auth_client.post(
            UPLOAD, {"file": SimpleUploadedFile("заметки.txt", b"one two three\n")}, format="multipart"
        )
        pk = response.json()["id"]
        wait_until(lambda: File.objects.get(pk=pk).status == File.Status.DONE, timeout=30)
        task_line = wait_until(lambda: _task_line(worker.log_path, "files.tasks.file_process_task"), timeout=10)
    finally:
        worker.stop()
    (post,) = [line for line in request_lines() if line["method"] == "POST"]

    assert (post["path"], post["status"], post["user_id"]) == (UPLOAD, 201, user.pk)
    assert post["request_id"] == response["X-Request-ID"] == task_line["request_id"]
    assert task_line["state"] == "succeeded"
    assert task_line["level"] == "INFO"
    assert task_line["runtime_ms"] >= 0
    assert len(task_line["task_id"]) == 36


def _task_line(log_path, task_name: str) -> dict | None:
    """The task's outcome line; every line the worker logged must be JSON."""
    for line in log_path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("task_name") == task_name and record.get("state") == "succeeded":
            return record
    return None
