"""Processing a file exactly once, and re-driving files whose message was lost."""

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from files.api.serializers import FileOutputSerializer
from files.models import File
from files.services.processors import ProcessingError, Reclassified, processor_for
from files.tasks import file_process_task
from webhooks.services import event_publish

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "The file could not be processed because of an internal error; it has been logged for the team."
SWEEP_BATCH = 1000


def file_claim(*, file_id: int) -> File | None:
    """Move the file from pending to processing; None if it is not pending.

    The conditional update is the lock: of two deliveries of the same message,
    or two workers, exactly one changes the row and goes on to process it."""
    claimed = File.objects.filter(pk=file_id, status=File.Status.PENDING).update(
        status=File.Status.PROCESSING,
        attempts=F("attempts") + 1,
        processing_started_at=timezone.now(),
    )
    if not claimed:
        return None
    return File.objects.filter(pk=file_id).first()


def file_run(*, file: File) -> dict[str, Any]:
    """Run the kind's processor and return the fields of the outcome."""
    reclassified: dict[str, Any] = {}
    try:
        with file.file.open("rb") as stream:
            try:
                result = processor_for(file.kind).process(file=file, stream=stream)
            except Reclassified as change:
                reclassified = {"kind": change.kind, "content_type": change.content_type}
                stream.seek(0)
                result = processor_for(change.kind).process(file=file, stream=stream)
    except FileNotFoundError:
        return {"status": File.Status.FAILED, "error": "The stored file is missing; upload it again."}
    except ProcessingError as exc:
        return {"status": File.Status.FAILED, "error": exc.message}
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        return {"status": File.Status.FAILED, "error": f"Processing took longer than {limit} seconds and was stopped."}
    except Exception:
        logger.exception("processing file %s (%s) failed unexpectedly", file.pk, file.kind)
        return {"status": File.Status.FAILED, "error": INTERNAL_ERROR}
    return {
        **reclassified,
        "status": File.Status.DONE,
        "processed": True,
        "result": result,
        "thumbnail": file.thumbnail.name,
    }


def file_finish(*, file: File, outcome: dict[str, Any]) -> bool:
    """Record the outcome if this attempt still holds the file.

    The row must still be ``processing`` with this attempt's number: if the
    sweeper gave the file to a newer attempt (this one was presumed dead), or
    the file was deleted, the outcome is dropped instead of overwriting."""
    fields = {**outcome, "processed_at": timezone.now()}
    with transaction.atomic():
        finished = File.objects.filter(pk=file.pk, status=File.Status.PROCESSING, attempts=file.attempts).update(
            **fields
        )
        if finished:
            for field, value in fields.items():
                setattr(file, field, value)
            _file_webhook(file)
    if finished:
        return True
    logger.warning("file %s: attempt %s was superseded; its outcome is dropped", file.pk, file.attempts)
    thumbnail = outcome.get("thumbnail")
    if thumbnail and not File.objects.filter(thumbnail=thumbnail).exists():
        file.thumbnail.storage.delete(thumbnail)
    return False


def file_process(*, file_id: int) -> File | None:
    """Claim, process, finish: a duplicate or redelivered message changes nothing."""
    file = file_claim(file_id=file_id)
    if file is None:
        logger.info("file %s is not pending; nothing to do", file_id)
        return None
    if settings.FILES_PROCESS_DELAY_SECONDS:
        time.sleep(settings.FILES_PROCESS_DELAY_SECONDS)
    outcome = file_run(file=file)
    if not file_finish(file=file, outcome=outcome):
        return None
    logger.info("file %s processed: %s after %s attempt(s)", file.pk, file.status, file.attempts)
    return file


def _file_webhook(file: File) -> None:
    """``file.processed`` or ``file.failed`` to the owner's endpoints, in the finishing transaction."""
    kind = "file.processed" if file.status == File.Status.DONE else "file.failed"
    event_publish(user_id=file.owner_id, type=kind, data=lambda: FileOutputSerializer(file).data)


@transaction.atomic
def _files_give_up(*, stuck, now: datetime) -> int:
    """Fail the stuck files that ran out of attempts, each announced as ``file.failed``."""
    error = f"Processing was interrupted {settings.FILES_MAX_ATTEMPTS} times; the file was given up on."
    files = list(stuck.filter(attempts__gte=settings.FILES_MAX_ATTEMPTS).select_for_update(skip_locked=True))
    for file in files:
        if File.objects.filter(pk=file.pk, status=File.Status.PROCESSING).update(
            status=File.Status.FAILED, processed_at=now, error=error
        ):
            file.status, file.processed_at, file.error = File.Status.FAILED, now, error
            _file_webhook(file)
    return len(files)


def file_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-drive files whose message may be lost; return the ids re-enqueued.

    A file ``processing`` for longer than FILES_STALE_AFTER_SECONDS lost its
    worker: it goes back to ``pending`` (or to ``failed`` after
    FILES_MAX_ATTEMPTS tries). A file ``pending`` whose last message is older
    than that timeout (the broker was down, or the message was lost) is
    published again. The conditional update of ``queued_at`` makes concurrent
    sweepers publish each file once."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.FILES_STALE_AFTER_SECONDS)
    stuck = File.objects.filter(status=File.Status.PROCESSING, processing_started_at__lt=stale)
    given_up = _files_give_up(stuck=stuck, now=now)
    if given_up:
        logger.warning("sweeper gave up on %s file(s) after repeated interruptions", given_up)
    stuck.update(status=File.Status.PENDING)
    stale_ids = list(
        File.objects.filter(status=File.Status.PENDING, queued_at__lt=stale)
        .order_by("queued_at")
        .values_list("pk", "queued_at")[:SWEEP_BATCH]
    )
    enqueued = []
    for pk, queued_at in stale_ids:
        if not File.objects.filter(pk=pk, status=File.Status.PENDING, queued_at=queued_at).update(queued_at=now):
            continue  # another sweeper took it
        if not file_process_task.publish_quietly((pk,)):
            # The broker is down: leave the row as it was for the next sweep.
            File.objects.filter(pk=pk, queued_at=now).update(queued_at=queued_at)
            break
        enqueued.append(pk)
    if enqueued:
        logger.info("sweeper re-enqueued %s file(s)", len(enqueued))
    return enqueued
