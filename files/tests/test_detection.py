import codecs
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from files.services.detection import SAMPLE_BYTES, detect
from files.tests.samples import (
    FRENCH,
    FRENCH_SHORT,
    GERMAN,
    RUSSIAN,
    RUSSIAN_SHORT,
    TEXT_FORMATS,
    image_bytes,
    pdf_bytes,
    zip_bytes,
)


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


@pytest.mark.parametrize("name", ["ini", "setup.cfg", "desktop", "jinja", "truncated-json"], ids=lambda name: name)
def test_text_starting_like_json_that_does_not_parse_is_text(name):
    detected = detect(TEXT_FORMATS[name])

    assert (detected.kind, detected.content_type) == ("text", "text/plain")


@pytest.mark.parametrize(
    "data",
    [
        b"[section]\n" + b"key = value\n" * (SAMPLE_BYTES // 8),
        b"{% block body %}\n" + b"<p>{{ x }}</p>\n" * (SAMPLE_BYTES // 10),
    ],
    ids=["ini", "jinja"],
)
def test_a_large_file_whose_start_is_no_json_is_text(data):
    """The first 64 KB already rule JSON out, whatever follows."""
    assert len(data) > SAMPLE_BYTES

    assert detect(data[:SAMPLE_BYTES]).kind == "text"


def test_a_large_file_whose_start_is_valid_json_is_json_until_read_whole():
    data = b"[" + b", ".join(b'{"id": %d}' % i for i in range(SAMPLE_BYTES // 8)) + b"]"

    assert detect(data[:SAMPLE_BYTES]).kind == "json"


# The oracle: libmagic's own command-line tool, run on the same bytes.
ORACLE = [
    ("html", "text"),
    ("xml", "text"),
    ("svg", "text"),
    ("python", "text"),
    ("ini", "text"),
    ("setup.cfg", "text"),
    ("desktop", "text"),
    ("jinja", "text"),
    ("json", "json"),
    ("json-array", "json"),
    ("csv", "csv"),
    ("deals.csv", "csv"),
    ("plain", "text"),
]


# A real export: the deals sample of the requirements (UTF-8, CRLF), byte for byte.
SAMPLES = {**TEXT_FORMATS, "deals.csv": (Path(__file__).parent / "data" / "deals.csv").read_bytes()}


def _file_mime_type(path) -> str:
    command = shutil.which("file")
    if command is None:
        pytest.fail("libmagic's `file` command is not installed (Debian package `file`).")
    return subprocess.run(
        [command, "--mime-type", "-b", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(("name", "kind"), ORACLE, ids=[name for name, _ in ORACLE])
def test_content_type_agrees_with_libmagic_file_command(tmp_path, name, kind):
    data = SAMPLES[name]
    path = tmp_path / "sample"
    path.write_bytes(data)

    detected = detect(data)

    assert (detected.content_type, detected.kind) == (_file_mime_type(path), kind)


def test_the_oracle_tells_the_text_formats_apart(tmp_path):
    """Guards the oracle test: it would prove nothing if `file` said text/plain everywhere."""
    answers = set()
    for name, _ in ORACLE:
        path = tmp_path / name
        path.write_bytes(SAMPLES[name])
        answers.add(_file_mime_type(path))

    assert {"text/html", "text/xml", "image/svg+xml", "application/json", "text/csv"} <= answers


ENCODED = [
    (FRENCH, "latin-1"),
    (FRENCH, "cp1252"),
    (FRENCH + "Un cœur « à l'œil » coûte 5 €.\n", "cp1252"),
    (FRENCH_SHORT, "latin-1"),
    (GERMAN, "latin-1"),
    (GERMAN, "cp1252"),
    ("Grüße aus Köln.\n", "latin-1"),
    (RUSSIAN, "cp1251"),
    (RUSSIAN, "koi8-r"),
    (RUSSIAN_SHORT, "cp1251"),
    (RUSSIAN_SHORT, "koi8-r"),
    (FRENCH, "utf-8"),
    (GERMAN, "utf-8"),
    (RUSSIAN, "utf-8"),
    (FRENCH, "utf-8-sig"),
    (RUSSIAN, "utf-8-sig"),
    (FRENCH, "utf-16"),
    (RUSSIAN, "utf-16"),
]


@pytest.mark.parametrize(("text", "encoding"), ENCODED, ids=[f"{t[:12]!r}-{e}" for t, e in ENCODED])
def test_text_is_decoded_as_written(text, encoding):
    data = text.encode(encoding)

    detected = detect(data)

    assert detected.kind == "text"
    decoded = data.decode(detected.encoding)
    assert decoded.removeprefix("\ufeff") == text


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [(FRENCH, "latin-1", "cp1252"), (GERMAN, "latin-1", "cp1252"), (RUSSIAN_SHORT, "koi8-r", "koi8_r")],
)
def test_the_common_encoding_is_named_when_the_detector_is_unsure(text, encoding, expected):
    assert codecs.lookup(detect(text.encode(encoding)).encoding).name == codecs.lookup(expected).name


def test_detect_reports_text_encoding():
    assert detect(RUSSIAN.encode("cp1251")).encoding == "cp1251"


def test_utf8_sample_cut_inside_a_character_is_utf8():
    data = ("a" + "é" * SAMPLE_BYTES).encode("utf-8")
    sample = data[:SAMPLE_BYTES]  # ends on the first byte of a two-byte "é"
    assert sample[-1:] == "é".encode()[:1]

    assert detect(sample).encoding == "utf_8"


def test_system_check_is_quiet_when_libmagic_is_installed():
    from files.checks import libmagic_is_installed

    assert libmagic_is_installed(None) == []
