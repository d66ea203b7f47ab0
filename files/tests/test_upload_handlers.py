import io

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser

from config.errors import PayloadTooLarge
from files.upload_handlers import SizeLimitUploadHandler

MB = 1024 * 1024


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def multipart(size: int, field: str = "file") -> tuple[dict, CountingStream]:
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="a.bin"\r\n\r\n'.encode()
        + b"x" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    meta = {"CONTENT_TYPE": f"multipart/form-data; boundary={boundary}", "CONTENT_LENGTH": str(len(body))}
    return meta, CountingStream(body)


def parse(meta, stream):
    handlers = [SizeLimitUploadHandler(), MemoryFileUploadHandler(), TemporaryFileUploadHandler()]
    return MultiPartParser(meta, stream, handlers).parse()


def test_stops_reading_once_the_limit_is_passed(settings):
    settings.FILES_MAX_UPLOAD_BYTES = MB
    meta, stream = multipart(3 * MB)

    with pytest.raises(PayloadTooLarge, match="upload limit of 1 MB"):
        parse(meta, stream)

    # The parser reads ahead a few 64 KB chunks, never the rest of the body.
    assert MB < stream.consumed < MB + 512 * 1024


def test_refuses_a_declared_length_that_cannot_fit_before_reading(settings):
    settings.FILES_MAX_UPLOAD_BYTES = MB
    meta, stream = multipart(5 * MB)

    with pytest.raises(PayloadTooLarge):
        parse(meta, stream)

    assert stream.consumed == 0


def test_other_file_fields_count_but_are_not_kept(settings):
    settings.FILES_MAX_UPLOAD_BYTES = MB
    meta, stream = multipart(1000, field="other")

    _, files = parse(meta, stream)

    assert files["other"].read() == b""
