"""Storing an upload and deleting a file."""

import hashlib
import logging
import unicodedata
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from config.errors import ApplicationError, PayloadTooLarge, ServiceUnavailable
from files.models import File
from files.services.detection import SAMPLE_BYTES, detect
from files.tasks import file_process_task

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 255
HASH_CHUNK_BYTES = 1024 * 1024


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def too_large_message(limit: int) -> str:
    return f"The file is larger than the upload limit of {human_size(limit)} ({limit:,} bytes). Upload a smaller file."


def sanitize_name(name: str | None) -> str:
    """A display name only: no path parts, no control or format characters
    (NUL, right-to-left overrides), normalized, at most 255 characters with the
    extension kept. It never becomes a storage path."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".").strip()
    if not name:
        return "upload"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        keep = MAX_NAME_LENGTH - len(ext) - (1 if ext else 0)
        name = f"{(stem if ext else name)[:keep]}.{ext}" if ext else name[:MAX_NAME_LENGTH]
    return name


def upload_sha256(upload: UploadedFile) -> str:
    """The digest the upload handlers computed while the body streamed; an
    upload made otherwise (the shell, a test) is read once to hash it."""
    digest = getattr(upload, "sha256", None)
    if digest is not None:
        return digest
    hasher = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks(HASH_CHUNK_BYTES):
        hasher.update(chunk)
    upload.seek(0)
    return hasher.hexdigest()


def file_upload(*, owner, upload: UploadedFile) -> File:
    """Store the upload under a generated name, record it as ``pending`` and
    enqueue its processing once the row is committed. The kind comes from the
    file's first bytes. If the row cannot be written, the stored bytes are
    removed again, so nothing is left half-written."""
    limit = settings.FILES_MAX_UPLOAD_BYTES
    if not upload.size:
        raise ApplicationError("The submitted file is empty.", code="empty")
    if upload.size > limit:
        raise PayloadTooLarge(too_large_message(limit))
    upload.seek(0)
    detected = detect(upload.read(SAMPLE_BYTES))
    upload.seek(0)
    file = File(
        owner=owner,
        original_name=sanitize_name(upload.name),
        size=upload.size,
        sha256=upload_sha256(upload),
        content_type=detected.content_type,
        kind=detected.kind,
    )
    try:
        file.file.save("upload", upload, save=False)
    except (BotoCoreError, ClientError) as exc:
        # The bucket did not take the bytes (unreachable, refused): no row is written.
        logger.warning("storing an upload failed: %s", exc)
        raise ServiceUnavailable("The file store is unavailable; try the upload again shortly.") from exc
    try:
        with transaction.atomic():
            file.save()
            file_process_task.delay_on_commit(file.pk)
    except BaseException:
        if file.file.name:
            file.file.storage.delete(file.file.name)
        raise
    return file


def _delete_stored(storage: Storage, names: list[str]) -> None:
    for name in names:
        storage.delete(name)


@transaction.atomic
def file_delete(*, file: File) -> None:
    """Delete the row; the stored file and thumbnail go once that has committed
    (a rolled-back delete must not lose the bytes)."""
    names = [name for name in (file.file.name, file.thumbnail.name) if name]
    storage = file.file.storage
    file.delete()
    transaction.on_commit(partial(_delete_stored, storage, names))
