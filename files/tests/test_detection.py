import os

import pytest

from files.services.detection import detect
from files.tests.samples import RUSSIAN, image_bytes, pdf_bytes, zip_bytes


@pytest.mark.parametrize(
    ("data", "kind", "content_type"),
    [
        (image_bytes("PNG"), "image", "image/png"),
        (image_bytes("JPEG"), "image", "image/jpeg"),
        (image_bytes("GIF", mode="L"), "image", "image/gif"),
        (pdf_bytes(["hello"]), "pdf", "application/pdf"),
        (zip_bytes({"a.txt": b"hi"}), "zip", "application/zip"),
        (RUSSIAN.encode("cp1251"), "text", "text/plain"),
        (RUSSIAN.encode("utf-16"), "text", "text/plain"),
        (b"Hello, world. This is prose.\nIt has a comma, too.\n", "text", "text/plain"),
        (b"42", "text", "text/plain"),
        (b"name,age\nann,30\nbob,25\n", "csv", "text/csv"),
        (b'{"a": [1, 2]}', "json", "application/json"),
        (b"  [1, 2, 3", "json", "application/json"),
        (b'"just a string"', "json", "application/json"),
        (b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4, "binary", "application/x-executable"),
        (os.urandom(4096), "binary", "application/octet-stream"),
        (b"", "binary", "application/octet-stream"),
        (b"text\x01\x02\x03\x04\x05 with \x06\x07\x08 controls", "binary", "application/octet-stream"),
    ],
)
def test_detect_uses_content_only(data, kind, content_type):
    detected = detect(data)

    assert (detected.kind, detected.content_type) == (kind, content_type)


def test_detect_reports_text_encoding():
    assert detect(RUSSIAN.encode("cp1251")).encoding == "cp1251"
