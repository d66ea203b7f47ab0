"""Fixtures of the files app: a private media folder, uploads and processing helpers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from files.models import File
from files.services import file_process, file_upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores into its own folder (a worker started by the test gets the same)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(root) -> list[str]:
    """Every stored file under the media folder, as relative paths."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def upload_file(user):
    """Store bytes as an upload of ``user`` (no message is published: the test's
    transaction never commits)."""

    def upload(data: bytes, name: str = "upload.bin", owner=None) -> File:
        return file_upload(owner=owner or user, upload=SimpleUploadedFile(name, data))

    return upload


@pytest.fixture
def processed(upload_file):
    """Upload and process in this process; return the refreshed row."""

    def run(data: bytes, name: str = "upload.bin") -> File:
        file = upload_file(data, name)
        file_process(file_id=file.pk)
        file.refresh_from_db()
        return file

    return run


@pytest.fixture
def broker_messages():
    """Reads back what was really published to the broker (Redis, or in-memory
    without REDIS_URL): a function returning ``[(task name, args), ...]``."""
    from config.celery import app

    app.control.purge()

    def drain() -> list[tuple[str, list]]:
        messages = []
        with app.connection_for_read() as connection:
            for name in app.amqp.queues:  # critical and default
                queue = connection.SimpleQueue(name)
                while True:
                    try:
                        message = queue.get(block=False)
                    except queue.Empty:
                        break
                    messages.append((message.headers["task"], message.payload[0]))
                    message.ack()
                queue.close()
        return messages

    yield drain
    app.control.purge()
