"""Upload handlers: a size limit enforced while the body streams, and the SHA-256
of each stored file computed from the same chunks."""

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)

from config.errors import PayloadTooLarge
from config.uploads import MULTIPART_OVERHEAD_BYTES
from files.services.uploads import too_large_message


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts the bytes of the one accepted file field and raises 413 as soon as
    they pass FILES_MAX_UPLOAD_BYTES, so an oversized body is never stored or
    read to its end. A declared Content-Length that cannot fit is refused before
    a single byte is read. Other file fields count towards the limit but are not
    stored."""

    def __init__(self, request=None, *, accepted_field: str = "file"):
        super().__init__(request)
        # Not ``field_name``: the base class sets that to the current part's name.
        self.accepted_field = accepted_field
        self.limit = settings.FILES_MAX_UPLOAD_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        room = MULTIPART_OVERHEAD_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if content_length and content_length > self.limit + room:
            raise PayloadTooLarge(too_large_message(self.limit))

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise PayloadTooLarge(too_large_message(self.limit))
        # Other file fields are counted but their bytes go nowhere. (Django's
        # SkipFile would also close the file already received.)
        return raw_data if self.field_name == self.accepted_field else None

    def file_complete(self, file_size):
        return None


class Sha256Mixin:
    """Hashes the chunks this handler keeps (the ones it does not pass on) and
    sets ``sha256`` on the file it completes, so a large upload is never read a
    second time to hash it."""

    def new_file(self, *args, **kwargs):
        self._sha256 = hashlib.sha256()
        return super().new_file(*args, **kwargs)  # type: ignore[misc]

    def receive_data_chunk(self, raw_data, start):
        passed_on = super().receive_data_chunk(raw_data, start)  # type: ignore[misc]
        if passed_on is None:  # kept: this handler stores the file
            self._sha256.update(raw_data)
        return passed_on

    def file_complete(self, file_size):
        file = super().file_complete(file_size)  # type: ignore[misc]
        if file is not None:
            file.sha256 = self._sha256.hexdigest()
        return file


class HashingMemoryFileUploadHandler(Sha256Mixin, MemoryFileUploadHandler):
    """Small files, kept in memory."""


class HashingTemporaryFileUploadHandler(Sha256Mixin, TemporaryFileUploadHandler):
    """Larger files, streamed to a temporary file."""
