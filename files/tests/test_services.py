from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.errors import ApplicationError, PayloadTooLarge
from conftest import broker_outage, run_at_once
from files.models import File
from files.services import file_delete, file_process, file_sweep, file_upload
from files.services.processing import INTERNAL_ERROR, file_claim, file_finish, file_run
from files.services.uploads import human_size, sanitize_name
from files.tests.conftest import stored_files
from files.tests.factories import FileFactory
from files.tests.samples import image_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/absolute/path/x.txt", "x.txt"),
        ("C:\\Users\\ann\\photo.jpg", "photo.jpg"),
        ("evil\x00.png", "evil.png"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("Cafe\u0301.txt", "Café.txt"),
        ("a" * 300 + ".txt", "a" * 251 + ".txt"),
        ("b" * 300, "b" * 255),
    ],
)
def test_sanitize_name_keeps_a_safe_display_name(name, expected):
    assert sanitize_name(name) == expected


@pytest.mark.parametrize(("size", "text"), [(512, "512 bytes"), (2048, "2 KB"), (100 * 1024**2, "100 MB")])
def test_human_size(size, text):
    assert human_size(size) == text


def test_upload_stores_under_a_generated_name(user, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        file = file_upload(owner=user, upload=SimpleUploadedFile("../../secret.txt", b"hello\n"))

    assert (file.original_name, file.size, file.kind, file.status, file.processed) == (
        "secret.txt",
        6,
        "text",
        "pending",
        False,
    )
    assert stored_files(media_root) == [file.file.name]
    assert "secret" not in file.file.name
    assert (media_root / file.file.name).read_bytes() == b"hello\n"
    assert len(callbacks) == 1


def test_upload_over_the_limit_writes_nothing(user, settings, media_root):
    settings.FILES_MAX_UPLOAD_BYTES = 10

    with pytest.raises(PayloadTooLarge, match=r"upload limit of 10 bytes \(10 bytes\)"):
        file_upload(owner=user, upload=SimpleUploadedFile("a.txt", b"x" * 11))

    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_upload_of_an_empty_file_is_refused(user):
    with pytest.raises(ApplicationError, match="empty"):
        file_upload(owner=user, upload=SimpleUploadedFile("a.txt", b""))

    assert not File.objects.exists()


def test_upload_removes_stored_bytes_when_the_row_fails(user, media_root, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(File, "save", fail)

    with pytest.raises(RuntimeError):
        file_upload(owner=user, upload=SimpleUploadedFile("a.txt", b"hello"))

    assert stored_files(media_root) == []


def test_process_twice_processes_once(upload_file):
    file = upload_file(b"one two three\n", "a.txt")

    first = file_process(file_id=file.pk)
    second = file_process(file_id=file.pk)

    file.refresh_from_db()
    assert (first.pk, second) == (file.pk, None)
    assert (file.status, file.processed, file.attempts, file.processed_at) == ("done", True, 1, first.processed_at)


def test_process_of_a_deleted_file_is_a_no_op(upload_file):
    file = upload_file(b"text\n", "a.txt")
    File.objects.filter(pk=file.pk).delete()

    assert file_process(file_id=file.pk) is None


def test_stale_attempt_cannot_overwrite_a_newer_one(upload_file, media_root):
    file = upload_file(image_bytes(), "a.png")
    old = file_claim(file_id=file.pk)
    old_outcome = file_run(file=old)
    # The sweeper presumed the first attempt dead and a second worker took over.
    File.objects.filter(pk=file.pk).update(status=File.Status.PENDING)
    new = file_claim(file_id=file.pk)
    assert file_finish(file=new, outcome=file_run(file=new)) is True

    assert file_finish(file=old, outcome={**old_outcome, "result": {"stale": True}}) is False

    file.refresh_from_db()
    assert (file.status, file.attempts, file.result["format"]) == ("done", 2, "PNG")
    assert stored_files(media_root) == sorted([file.file.name, file.thumbnail.name])


def test_superseded_attempt_on_a_deleted_file_removes_its_thumbnail(upload_file, media_root):
    file = upload_file(image_bytes(), "a.png")
    claimed = file_claim(file_id=file.pk)
    outcome = file_run(file=claimed)
    File.objects.filter(pk=file.pk).delete()

    assert file_finish(file=claimed, outcome=outcome) is False

    assert stored_files(media_root) == [file.file.name]


def test_missing_stored_file_fails_with_a_message(upload_file, media_root):
    file = upload_file(b"text\n", "a.txt")
    (media_root / file.file.name).unlink()

    file_process(file_id=file.pk)

    file.refresh_from_db()
    assert (file.status, file.error) == ("failed", "The stored file is missing; upload it again.")


def test_unexpected_processor_error_fails_with_a_generic_message(upload_file, monkeypatch):
    from files.services.processors import TextProcessor

    def broken(self, *, file, stream):
        raise KeyError("bug")

    monkeypatch.setattr(TextProcessor, "process", broken)
    file = upload_file(b"text\n", "a.txt")

    file_process(file_id=file.pk)

    file.refresh_from_db()
    assert (file.status, file.processed, file.error) == ("failed", False, INTERNAL_ERROR)


def test_soft_time_limit_fails_with_a_message(upload_file, monkeypatch, settings):
    from celery.exceptions import SoftTimeLimitExceeded

    from files.services.processors import TextProcessor

    def slow(self, *, file, stream):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(TextProcessor, "process", slow)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 120
    file = upload_file(b"text\n", "a.txt")

    file_process(file_id=file.pk)

    file.refresh_from_db()
    assert file.error == "Processing took longer than 120 seconds and was stopped."


def test_sweep_re_drives_stale_files_only(settings, broker_messages):
    settings.FILES_STALE_AFTER_SECONDS = 300
    now = timezone.now()
    old = now - timedelta(seconds=301)
    lost_message = FileFactory(status="pending", queued_at=old)
    fresh = FileFactory(status="pending", queued_at=now)
    dead_worker = FileFactory(status="processing", queued_at=old, processing_started_at=old, attempts=1)
    busy_worker = FileFactory(status="processing", queued_at=old, processing_started_at=now, attempts=1)
    done = FileFactory(status="done", processed=True, queued_at=old)

    enqueued = file_sweep(now=now)

    assert sorted(enqueued) == sorted([lost_message.pk, dead_worker.pk])
    task = "files.tasks.file_process_task"
    assert sorted(broker_messages()) == sorted([(task, [lost_message.pk]), (task, [dead_worker.pk])])
    statuses = dict(File.objects.values_list("pk", "status"))
    assert [statuses[f.pk] for f in (lost_message, fresh, dead_worker, busy_worker, done)] == [
        "pending",
        "pending",
        "pending",
        "processing",
        "done",
    ]
    assert File.objects.get(pk=lost_message.pk).queued_at == now
    assert file_sweep(now=now) == []  # just re-enqueued: not stale again yet


def test_sweep_gives_up_after_max_attempts(settings, broker_messages):
    settings.FILES_MAX_ATTEMPTS = 3
    old = timezone.now() - timedelta(hours=1)
    file = FileFactory(status="processing", queued_at=old, processing_started_at=old, attempts=3)

    assert file_sweep() == []

    file.refresh_from_db()
    assert (file.status, file.processed, broker_messages()) == ("failed", False, [])
    assert file.error == "Processing was interrupted 3 times; the file was given up on."


def test_sweep_with_the_broker_down_leaves_rows_for_the_next_sweep(broker_messages):
    old = timezone.now() - timedelta(hours=1)
    files = [FileFactory(status="pending", queued_at=old) for _ in range(2)]

    with broker_outage():
        assert file_sweep() == []

    assert broker_messages() == []

    assert sorted(File.objects.values_list("queued_at", flat=True)) == [old, old]
    assert all(f.status == "pending" for f in File.objects.filter(pk__in=[f.pk for f in files]))


def test_delete_removes_stored_bytes_after_commit(upload_file, media_root, django_capture_on_commit_callbacks):
    file = upload_file(image_bytes(), "a.png")
    file_process(file_id=file.pk)
    file.refresh_from_db()
    assert len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        file_delete(file=file)

    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_concurrent_claims_process_once(postgres, transactional_db, user):
    file = file_upload(owner=user, upload=SimpleUploadedFile("a.txt", b"one two\n"))

    results = run_at_once([lambda: file_claim(file_id=file.pk)] * 4)

    file.refresh_from_db()
    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(r is not None for r in results) == 1
    assert (file.status, file.attempts) == ("processing", 1)


def test_beat_runs_the_sweeper_task(settings):
    from files.tasks import file_process_task, file_sweep_task

    assert settings.CELERY_BEAT_SCHEDULE["files-sweep"]["task"] == file_sweep_task.name == "files.tasks.file_sweep_task"
    assert file_process_task.name == "files.tasks.file_process_task"


@pytest.mark.parametrize(("stale", "warnings"), [(300, []), (150, ["files.W001"]), (10, ["files.W001"])])
def test_check_warns_when_the_sweeper_could_take_live_work(settings, stale, warnings):
    from files.checks import stale_timeout_exceeds_task_time_limit

    settings.FILES_STALE_AFTER_SECONDS = stale
    settings.CELERY_TASK_TIME_LIMIT = 150

    assert [w.id for w in stale_timeout_exceeds_task_time_limit(None)] == warnings
