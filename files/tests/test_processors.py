import hashlib
import io
import json
import os

import pytest
from PIL import Image

from files.models import File
from files.services.detection import SAMPLE_BYTES
from files.services.processors import REGISTRY, BinaryProcessor, Processor, processor_for
from files.tests.samples import RUSSIAN, image_bytes, pdf_bytes, png_claiming, zip_bytes, zip_of_zeros

pytestmark = pytest.mark.django_db


def test_registry_has_a_processor_for_every_kind():
    assert set(REGISTRY) == set(File.Kind.values)
    assert all(issubclass(cls, Processor) and REGISTRY[cls.kind] is cls for cls in REGISTRY.values())
    assert isinstance(processor_for("unknown"), BinaryProcessor)


def test_png_named_txt_is_processed_as_an_image_with_a_thumbnail(processed, media_root):
    file = processed(image_bytes("PNG", size=(640, 480)), name="notes.txt")

    assert (file.status, file.processed, file.kind, file.content_type, file.error) == (
        "done",
        True,
        "image",
        "image/png",
        "",
    )
    assert file.result == {
        "format": "PNG",
        "width": 640,
        "height": 480,
        "mode": "RGB",
        "frames": 1,
        "thumbnail_width": 256,
        "thumbnail_height": 192,
    }
    with Image.open(media_root / file.thumbnail.name) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("PNG", (256, 192))


def test_jpeg_in_cmyk_gets_a_thumbnail(processed):
    buffer = io.BytesIO()
    Image.new("CMYK", (300, 100)).save(buffer, format="JPEG")

    file = processed(buffer.getvalue(), name="print.jpg")

    assert (file.status, file.result["format"], file.result["mode"]) == ("done", "JPEG", "CMYK")
    assert file.thumbnail.name


def test_truncated_image_fails_cleanly(processed):
    data = image_bytes("PNG", size=(400, 400))

    file = processed(data[: len(data) // 2], name="cut.png")

    assert (file.status, file.processed, file.result, file.thumbnail.name) == ("failed", False, {}, "")
    assert file.error.startswith("The image is damaged or truncated")


@pytest.mark.parametrize(
    ("size", "pixel_limit", "message"),
    [
        # Over our limit, under Pillow's own warning threshold (~89 M).
        ((8000, 8000), 50_000_000, "images over 50,000,000 pixels are refused"),
        # Pillow warns (100 M pixels); the warning is an error here.
        ((10_000, 10_000), 10**12, "too many pixels to be decoded safely"),
        # Pillow refuses outright (400 M pixels).
        ((20_000, 20_000), 10**12, "too many pixels to be decoded safely"),
    ],
)
def test_decompression_bomb_fails_before_decoding(processed, settings, size, pixel_limit, message):
    settings.FILES_IMAGE_MAX_PIXELS = pixel_limit
    data = png_claiming(*size)

    file = processed(data, name="bomb.png")

    assert len(data) < 1024
    assert (file.kind, file.status, file.processed, file.thumbnail.name) == ("image", "failed", False, "")
    assert message in file.error


def test_text_in_a_legacy_encoding(processed):
    file = processed(RUSSIAN.encode("cp1251"), name="poem.txt")

    assert (file.status, file.processed) == ("done", True)
    assert file.result == {"encoding": "cp1251", "lines": 3, "words": 30, "characters": len(RUSSIAN)}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_text_counts_in_unicode_encodings(processed, encoding):
    file = processed(RUSSIAN.encode(encoding), name="poem.txt")

    assert (file.result["lines"], file.result["words"], file.result["characters"]) == (3, 30, len(RUSSIAN))


def test_text_counts_words_across_chunks(processed):
    line = "word " * 50_000 + "tail\nlast line without newline"

    file = processed(("x" * 1_048_600 + " " + line).encode(), name="big.txt")  # 1 MB chunks cut the x-word

    assert file.result == {
        "encoding": "ascii",
        "lines": 2,
        "words": 1 + 50_000 + 1 + 4,
        "characters": 1_048_601 + len(line),
    }


def test_csv_columns_and_rows(processed):
    data = "имя;город;возраст\nАня;Москва;30\nБорис;Казань;41\nВера;Омск;25\n".encode("cp1251")

    file = processed(data, name="people.dat")

    assert (file.kind, file.content_type, file.status) == ("csv", "text/csv", "done")
    assert file.result == {
        "encoding": "cp1251",
        "delimiter": ";",
        "has_header": True,
        "header": ["имя", "город", "возраст"],
        "columns": 3,
        "rows": 3,
        "ragged": False,
    }


def test_csv_with_ragged_rows_is_reported(processed):
    head = "a,b,c\n1,2,3\n4,5,6\n"
    data = (head + "x" * 70_000 + "\n7,8\n").encode()

    file = processed(data, name="t.csv")

    assert (file.kind, file.status) == ("csv", "done")
    assert (file.result["rows"], file.result["columns"], file.result["ragged"]) == (4, 3, True)


def test_csv_with_a_field_over_the_limit_fails_cleanly(processed):
    data = ("a,b\n1,2\n3,4\n" + '"' + "y" * 200_000 + '",5\n').encode()

    file = processed(data, name="t.csv")

    assert (file.status, file.processed) == ("failed", False)
    assert file.error.startswith("The CSV could not be read at line 4: field larger than field limit")


def test_pdf_pages_and_text(processed):
    file = processed(pdf_bytes(["Quarterly report", "", "Appendix"]), name="report.bin")

    assert (file.kind, file.status) == ("pdf", "done")
    assert file.result == {"pages": 3, "encrypted": False, "has_text": True}


def test_pdf_without_text(processed):
    file = processed(pdf_bytes(["", ""]), name="scan.pdf")

    assert file.result == {"pages": 2, "encrypted": False, "has_text": False}


def test_damaged_pdf_fails_cleanly(processed):
    file = processed(b"%PDF-1.7\n" + os.urandom(2000), name="broken.pdf")

    assert (file.kind, file.status, file.processed) == ("pdf", "failed", False)
    assert file.error.startswith("The PDF could not be read")


def test_zip_entries_and_sizes(processed):
    data = zip_bytes({"docs/": b"", "docs/a.txt": b"hello " * 100, "b.bin": bytes(range(256))})

    file = processed(data, name="bundle.zip")

    assert (file.kind, file.status) == ("zip", "done")
    assert file.result == {
        "entries": 3,
        "files": 2,
        "uncompressed_size": 856,
        "compressed_size": file.result["compressed_size"],
        "names": ["docs/", "docs/a.txt", "b.bin"],
    }
    assert 0 < file.result["compressed_size"] < 856


@pytest.mark.parametrize(
    ("max_bytes", "max_ratio", "message"),
    [
        (1024**3, 100, "more than 100x its own size"),
        (10 * 1024 * 1024, 10**6, "more than 10,485,760 bytes uncompressed"),
    ],
)
def test_zip_bomb_is_refused(processed, settings, max_bytes, max_ratio, message):
    settings.FILES_ZIP_MAX_UNCOMPRESSED_BYTES = max_bytes
    settings.FILES_ZIP_MAX_RATIO = max_ratio
    data = zip_of_zeros(50 * 1024 * 1024)

    file = processed(data, name="innocent.zip")

    assert len(data) < 100_000
    assert (file.kind, file.status, file.processed) == ("zip", "failed", False)
    assert message in file.error


def test_zip_with_too_many_entries_is_refused(processed, settings):
    settings.FILES_ZIP_MAX_ENTRIES = 5

    file = processed(zip_bytes({f"{i}.txt": b"x" for i in range(6)}), name="many.zip")

    assert file.error == "The archive has 6 entries; at most 5 are allowed."


def test_zip_with_bad_crc_is_refused(processed):
    data = bytearray(zip_bytes({"a.txt": b"hello " * 1000}))
    crc_at = 14  # CRC-32 in the local header
    data[crc_at : crc_at + 4] = b"\x00\x00\x00\x00"
    central = data.rfind(b"PK\x01\x02")
    data[central + 16 : central + 20] = b"\x00\x00\x00\x00"

    file = processed(bytes(data), name="a.zip")

    assert (file.status, file.processed) == ("failed", False)
    assert file.error.startswith("The archive is damaged")


def test_truncated_zip_is_refused(processed):
    data = zip_bytes({"a.txt": os.urandom(5000)})

    file = processed(data[:3000], name="a.zip")

    assert (file.kind, file.status) == ("zip", "failed")
    assert file.error.startswith("The ZIP archive could not be opened")


@pytest.mark.parametrize(
    ("document", "result"),
    [
        (
            {"b": 1, "a": [1, 2]},
            {"valid": True, "encoding": "ascii", "top_level_type": "object", "length": 2, "keys": ["b", "a"]},
        ),
        ([1, 2, 3], {"valid": True, "encoding": "ascii", "top_level_type": "array", "length": 3}),
        ("text", {"valid": True, "encoding": "ascii", "top_level_type": "string"}),
    ],
)
def test_json_top_level_type(processed, document, result):
    file = processed(json.dumps(document).encode(), name="data.json")

    assert (file.kind, file.status, file.processed, file.result) == ("json", "done", True, result)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [('{"ville": "Besançon", "prix": "12 €"}', "cp1252"), ('["Привет", "мир"]', "cp1251"), ('{"a": "ß"}', "utf-16")],
)
def test_json_in_a_legacy_or_utf16_encoding_is_read(processed, text, encoding):
    file = processed(text.encode(encoding), name="data.json")

    assert (file.kind, file.status, file.result["valid"]) == ("json", "done", True)
    assert file.result["length"] == len(json.loads(text))


def test_text_that_fails_to_parse_as_json_is_processed_as_text(processed):
    file = processed(b'{"a": [1, 2}', name="data.json")

    assert (file.kind, file.content_type, file.status) == ("text", "text/plain", "done")
    assert file.result == {"encoding": "ascii", "lines": 1, "words": 3, "characters": 12}


def test_large_file_that_stops_being_json_after_the_sample_becomes_text(processed):
    rows = [json.dumps({"id": i, "name": f"item {i}"}) for i in range(5000)]
    data = ("[\n" + ",\n".join(rows) + "\n]\n[trailing section]\nkey = value\n").encode()
    assert len(data) > SAMPLE_BYTES

    file = processed(data, name="export.json")

    assert (file.kind, file.content_type, file.status) == ("text", "text/plain", "done")
    assert file.result == {
        "encoding": "ascii",
        "lines": data.count(b"\n"),
        "words": len(data.split()),
        "characters": len(data),
    }


def test_large_json_is_validated_whole_as_a_stream(processed):
    document = {f"key{i}": {"values": list(range(i % 7)), "label": "é" * (i % 5)} for i in range(20_000)}
    data = json.dumps(document, ensure_ascii=False).encode()
    assert len(data) > 10 * SAMPLE_BYTES

    file = processed(data, name="big.json")

    assert (file.kind, file.status) == ("json", "done")
    assert file.result == {
        "valid": True,
        "encoding": "utf_8",
        "top_level_type": "object",
        "length": 20_000,
        "keys": [f"key{i}" for i in range(50)],
    }


def test_deeply_nested_json_is_read_without_recursion(processed):
    file = processed(b"[" * 100_000 + b"]" * 100_000, name="deep.json")

    assert (file.kind, file.status) == ("json", "done")
    assert file.result == {"valid": True, "encoding": "ascii", "top_level_type": "array", "length": 1}


def test_binary_size_and_sha256(processed):
    data = os.urandom(3 * 1024 * 1024 + 7)

    file = processed(data, name="blob.png")

    assert (file.kind, file.content_type, file.status) == ("binary", "application/octet-stream", "done")
    assert file.result == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize(("mode", "fmt"), [("I;16", "PNG"), ("F", "TIFF"), ("LAB", "TIFF"), ("1", "PNG")])
def test_images_in_unusual_modes_get_a_thumbnail(processed, mode, fmt):
    buffer = io.BytesIO()
    Image.new(mode, (300, 200)).save(buffer, format=fmt)

    file = processed(buffer.getvalue(), name="odd.img")

    assert (file.status, file.result["mode"], file.result["thumbnail_width"]) == ("done", mode, 256)
    assert file.thumbnail.name


def test_image_whose_thumbnail_cannot_be_made_keeps_its_facts(processed, monkeypatch):
    from files.services import processors

    def fail(image):
        raise OSError("cannot write mode PA as PNG")

    monkeypatch.setattr(processors, "_thumbnail_png", fail)

    file = processed(image_bytes(size=(50, 40)), name="a.png")

    assert (file.status, file.thumbnail.name) == ("done", "")
    assert file.result == {
        "format": "PNG",
        "width": 50,
        "height": 40,
        "mode": "RGB",
        "frames": 1,
        "thumbnail_width": None,
        "thumbnail_height": None,
    }
