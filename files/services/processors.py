"""One processor class per kind of file; the registry picks one by the detected kind.

Adding a type is one class here and one line in ``REGISTRY``. A processor reads
the stored file and returns JSON-able facts, or raises ``ProcessingError`` with
a message a person understands.
"""

import codecs
import csv
import hashlib
import io
import logging
import warnings
import zipfile
import zlib
from typing import IO, Any, ClassVar

import ijson
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from files.models import File
from files.services.detection import SAMPLE_BYTES, json_events, sniff_csv, text_content_type, text_encoding

CHUNK = 1024 * 1024
logger = logging.getLogger(__name__)


class ProcessingError(Exception):
    """The file could not be processed; ``message`` says why, for the file's owner."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Reclassified(Exception):
    """Reading the whole file showed it is of another kind than its first bytes
    suggested; the file is processed again as ``kind``."""

    def __init__(self, *, kind: str, content_type: str):
        super().__init__(f"{kind} ({content_type})")
        self.kind = kind
        self.content_type = content_type


class Processor:
    kind: ClassVar[str]

    def process(self, *, file: File, stream: IO[bytes]) -> dict[str, Any]:
        raise NotImplementedError


def _sample_encoding(stream: IO[bytes]) -> str:
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    return text_encoding(sample) or "utf-8"


class ImageProcessor(Processor):
    """Format, size and mode, and a PNG thumbnail. Decompression bombs are refused
    before any pixel is decoded: Pillow itself only warns up to ~179 M pixels."""

    kind = "image"

    def process(self, *, file, stream):
        limit = settings.FILES_IMAGE_MAX_PIXELS
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream)
                width, height = image.size
                if width * height > limit:
                    raise ProcessingError(
                        f"The image is {width}x{height} = {width * height:,} pixels; "
                        f"images over {limit:,} pixels are refused."
                    )
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ProcessingError(f"The image claims too many pixels to be decoded safely ({exc}).") from exc
        except UnidentifiedImageError as exc:
            raise ProcessingError("The file looks like an image but no image could be read from it.") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ProcessingError(f"The image is damaged or truncated: {exc}.") from exc
        result = {"format": image.format, "width": width, "height": height, "mode": image.mode}
        result["frames"] = getattr(image, "n_frames", 1)
        try:
            thumbnail = _thumbnail_png(image)
        except (OSError, ValueError):
            # The facts stand without a thumbnail (an exotic mode PNG cannot hold).
            logger.warning("file %s: no thumbnail for mode %s", file.pk, image.mode, exc_info=True)
            return {**result, "thumbnail_width": None, "thumbnail_height": None}
        _store_thumbnail(file, thumbnail["png"])
        return {**result, "thumbnail_width": thumbnail["width"], "thumbnail_height": thumbnail["height"]}


def _thumbnail_png(image: Image.Image) -> dict[str, Any]:
    thumbnail = image.copy()
    thumbnail.thumbnail((settings.FILES_THUMBNAIL_SIZE, settings.FILES_THUMBNAIL_SIZE))
    if thumbnail.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
        thumbnail = thumbnail.convert("RGBA")
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="PNG")
    return {"png": buffer.getvalue(), "width": thumbnail.width, "height": thumbnail.height}


def _store_thumbnail(file: File, data: bytes) -> None:
    """Store under a name derived from the file's own, so a retry replaces rather than adds."""
    name = f"thumbnails/{(file.file.name or '').rsplit('/', 1)[-1]}.png"
    default_storage.delete(name)
    file.thumbnail.name = default_storage.save(name, ContentFile(data))


class TextProcessor(Processor):
    """Encoding, lines, words and characters, counted in one streaming pass."""

    kind = "text"

    def process(self, *, file, stream):
        encoding = _sample_encoding(stream)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        lines = words = characters = 0
        in_word = False
        last = ""
        while chunk := stream.read(CHUNK):
            text = decoder.decode(chunk)
            if characters == 0 and text.startswith("\ufeff"):
                text = text[1:]
            lines, words, characters, in_word, last = _count(text, lines, words, characters, in_word, last)
        lines, words, characters, in_word, last = _count(
            decoder.decode(b"", final=True), lines, words, characters, in_word, last
        )
        if characters and last != "\n":
            lines += 1
        return {"encoding": encoding, "lines": lines, "words": words, "characters": characters}


def _count(text: str, lines: int, words: int, characters: int, in_word: bool, last: str):
    if not text:
        return lines, words, characters, in_word, last
    parts = text.split()
    words += len(parts)
    if in_word and not text[0].isspace() and parts:
        words -= 1  # a word cut by the chunk boundary
    return lines + text.count("\n"), words, characters + len(text), not text[-1].isspace(), text[-1]


class CsvProcessor(Processor):
    """Delimiter, header, columns and rows; every row is read, so a ragged file is reported."""

    kind = "csv"

    def process(self, *, file, stream):
        encoding = _sample_encoding(stream)
        raw = stream.read(SAMPLE_BYTES)
        stream.seek(0)
        sample = raw.decode(encoding, errors="ignore")
        sniffed = sniff_csv(sample, whole=len(raw) < SAMPLE_BYTES)
        if sniffed is None:
            raise ProcessingError("The file's columns could not be told apart: no consistent delimiter found.")
        dialect, lines = sniffed
        try:
            has_header = csv.Sniffer().has_header(lines)
        except csv.Error:
            has_header = False
        text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        header: list[str] = []
        rows = 0
        widths: set[int] = set()
        reader = csv.reader(text, dialect)
        try:
            for index, row in enumerate(reader):
                if not row:
                    continue
                if index == 0 and has_header:
                    header = row
                    continue
                rows += 1
                widths.add(len(row))
        except csv.Error as exc:
            raise ProcessingError(f"The CSV could not be read at line {reader.line_num}: {exc}.") from exc
        finally:
            text.detach()
        columns = len(header) if header else max(widths, default=0)
        return {
            "encoding": encoding,
            "delimiter": dialect.delimiter,
            "has_header": has_header,
            "header": header[:100],
            "columns": columns,
            "rows": rows,
            "ragged": len(widths | ({len(header)} if header else set())) > 1,
        }


class PdfProcessor(Processor):
    """Pages, whether the first pages hold text, and whether the file is encrypted."""

    kind = "pdf"
    text_pages = 5

    def process(self, *, file, stream):
        try:
            reader = PdfReader(stream)
            encrypted = reader.is_encrypted
            if encrypted and not reader.decrypt(""):
                return {"pages": None, "encrypted": True, "has_text": None}
            pages = len(reader.pages)
            has_text = any((reader.pages[i].extract_text() or "").strip() for i in range(min(pages, self.text_pages)))
        except RecursionError as exc:
            raise ProcessingError("The PDF could not be read: its objects are nested too deeply.") from exc
        except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, zlib.error) as exc:
            raise ProcessingError(f"The PDF could not be read: {exc}.") from exc
        return {"pages": pages, "encrypted": encrypted, "has_text": has_text}


class ZipProcessor(Processor):
    """Entries and sizes. Bombs are refused on the sizes the archive declares and
    then on what really comes out, decompressed as a stream and never stored."""

    kind = "zip"

    def process(self, *, file, stream):
        max_bytes = settings.FILES_ZIP_MAX_UNCOMPRESSED_BYTES
        max_ratio = settings.FILES_ZIP_MAX_RATIO
        max_entries = settings.FILES_ZIP_MAX_ENTRIES
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ProcessingError(f"The ZIP archive could not be opened: {exc}.") from exc
        with archive:
            infos = archive.infolist()
            if len(infos) > max_entries:
                raise ProcessingError(f"The archive has {len(infos):,} entries; at most {max_entries:,} are allowed.")
            declared = sum(info.file_size for info in infos)
            _check_bomb(declared, file.size, max_bytes, max_ratio, "declares")
            actual = 0
            try:
                for info in infos:
                    if info.is_dir():
                        continue
                    with archive.open(info) as member:
                        while chunk := member.read(CHUNK):
                            actual += len(chunk)
                            _check_bomb(actual, file.size, max_bytes, max_ratio, "expands to")
            except ProcessingError:
                raise
            except RuntimeError as exc:  # encrypted entries
                raise ProcessingError(f"The archive could not be read: {exc}.") from exc
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError) as exc:
                raise ProcessingError(f"The archive is damaged: {exc}.") from exc
        return {
            "entries": len(infos),
            "files": sum(1 for info in infos if not info.is_dir()),
            "uncompressed_size": actual,
            "compressed_size": sum(info.compress_size for info in infos),
            "names": [info.filename for info in infos[:50]],
        }


def _check_bomb(uncompressed: int, size: int, max_bytes: int, max_ratio: int, verb: str) -> None:
    if uncompressed > max_bytes:
        raise ProcessingError(
            f"The archive {verb} more than {max_bytes:,} bytes uncompressed; it is refused as a ZIP bomb."
        )
    if uncompressed > max_ratio * max(size, 1) and uncompressed > CHUNK:
        raise ProcessingError(f"The archive {verb} more than {max_ratio}x its own size; it is refused as a ZIP bomb.")


class JsonProcessor(Processor):
    """Top-level type and size of a JSON document, read whole as a stream (ijson:
    constant memory, no recursion, whatever the size or depth). A file that
    does not parse to its end is text, and is processed as text."""

    kind = "json"
    scalar_types = {"string": "string", "number": "number", "boolean": "boolean", "null": "null"}
    max_keys = 50

    def process(self, *, file, stream):
        encoding = _sample_encoding(stream)
        top_level_type = None
        length = depth = 0
        keys: list[str] = []
        try:
            for event, value in json_events(stream, encoding, chunk_size=CHUNK):
                if depth == 1 and event in ("map_key", "start_map", "start_array", *self.scalar_types):
                    if event == "map_key":
                        length += 1
                        if len(keys) < self.max_keys:
                            keys.append(value)
                    elif top_level_type == "array":
                        length += 1
                if event in ("start_map", "start_array"):
                    if depth == 0:
                        top_level_type = "object" if event == "start_map" else "array"
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
                elif depth == 0:
                    top_level_type = self.scalar_types[event]
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            stream.seek(0)
            raise Reclassified(kind="text", content_type=text_content_type(stream.read(SAMPLE_BYTES))) from exc
        result: dict[str, Any] = {"valid": True, "encoding": encoding, "top_level_type": top_level_type}
        if top_level_type in ("object", "array"):
            result["length"] = length
        if top_level_type == "object":
            result["keys"] = keys
        return result


class BinaryProcessor(Processor):
    """Anything else: its size and SHA-256."""

    kind = "binary"

    def process(self, *, file, stream):
        digest = hashlib.sha256()
        size = 0
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return {"size": size, "sha256": digest.hexdigest()}


REGISTRY: dict[str, type[Processor]] = {
    processor.kind: processor
    for processor in (
        ImageProcessor,
        TextProcessor,
        CsvProcessor,
        PdfProcessor,
        ZipProcessor,
        JsonProcessor,
        BinaryProcessor,
    )
}


def processor_for(kind: str) -> Processor:
    return REGISTRY.get(kind, BinaryProcessor)()
