"""What a file really is, from its first bytes: never from its name or the client's word."""

import codecs
import csv
import logging
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

import filetype
import ijson
from charset_normalizer import from_bytes

SAMPLE_BYTES = 64 * 1024
logger = logging.getLogger(__name__)

# Formats Pillow reads; other image/* types (PSD, HEIC, RAW...) are kept as binary.
IMAGE_TYPES = {
    "image/png",
    "image/apng",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/bmp",
    "image/x-icon",
}
# ZIP containers: office documents and e-books are ZIP files too.
ZIP_TYPES = {
    "application/zip",
    "application/epub+zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
CSV_DELIMITERS = ",;\t|"
# Decoded text may hold this share of control characters (other than tab and line breaks) at most.
MAX_CONTROL_SHARE = 0.01
MIN_CSV_LINES = 3
# The legacy encodings most uploads are really in, most likely first: Western
# European (cp1252 is latin-1 plus printable characters in 0x80-0x9F) and Russian.
COMMON_ENCODINGS = ("utf_8", "cp1252", "latin_1", "cp1251", "koi8_r")
# Unicode encodings the detector names from a BOM or from valid multi-byte
# sequences: it is sure of those.
UNICODE_ENCODINGS = {"ascii", "utf_8", "utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"}
# How much more "mess" (charset-normalizer's chaos ratio, 0..1) a common encoding
# may show than the detector's favourite and still be preferred to it.
COMMON_ENCODING_MARGIN = 0.1
# libmagic's answers that say nothing about a text: the text is then text/plain.
UNINFORMATIVE_TYPES = {"application/octet-stream", "inode/x-empty", "application/x-empty"}
MAX_CONTENT_TYPE_LENGTH = 127  # File.content_type's max_length


@dataclass(frozen=True)
class Detected:
    kind: str
    content_type: str
    encoding: str | None = None


def detect(sample: bytes) -> Detected:
    """Kind and MIME type of a file whose first bytes are ``sample``.

    A sample shorter than SAMPLE_BYTES is the whole file. A longer file whose
    first SAMPLE_BYTES are a valid start of a JSON document is ``json`` here;
    the JSON processor reads it whole and makes it ``text`` if the rest fails."""
    guess = filetype.guess(sample)
    if guess is not None:
        if guess.mime in IMAGE_TYPES:
            return Detected("image", guess.mime)
        if guess.mime in ZIP_TYPES:
            return Detected("zip", guess.mime)
        if guess.mime == "application/pdf":
            return Detected("pdf", guess.mime)
    encoding = text_encoding(sample)
    if encoding is None:
        return Detected("binary", guess.mime if guess else "application/octet-stream")
    text = sample.decode(encoding, errors="ignore")
    whole = len(sample) < SAMPLE_BYTES
    if looks_like_json(text, whole=whole):
        return Detected("json", "application/json", encoding)
    if looks_like_csv(text, whole=whole):
        return Detected("csv", "text/csv", encoding)
    return Detected("text", text_content_type(sample), encoding)


def text_encoding(sample: bytes) -> str | None:
    """The text encoding of ``sample``, or None when it is not text.

    charset-normalizer ranks every encoding that decodes the bytes; on short
    or accent-poor Western text it often ranks a rare one first (latin-1
    French as iso8859_10: "déçu" becomes "déįu"). A common encoding that is
    about as clean (COMMON_ENCODING_MARGIN) wins over a rarer favourite."""
    if not sample:
        return None
    if b"\x00" in sample and not sample.startswith(TEXT_BOMS):
        return None
    decoded = _as_utf8(sample, whole=len(sample) < SAMPLE_BYTES) or _as_detected(sample)
    if decoded is None:
        return None
    encoding, text = decoded
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if controls > MAX_CONTROL_SHARE * max(len(text), 1):
        return None
    return encoding


def _as_utf8(sample: bytes, *, whole: bool) -> tuple[str, str] | None:
    """ASCII or UTF-8, when the bytes are valid as such. A sample cut from a
    longer file may end inside a character: the detector would then rule
    UTF-8 out and pick some multi-byte Asian encoding."""
    if sample.isascii():
        return "ascii", sample.decode("ascii")
    try:
        return "utf_8", codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
    except UnicodeDecodeError:
        return None


def _as_detected(sample: bytes) -> tuple[str, str] | None:
    best = from_bytes(sample).best()
    if best is None:
        return None
    chosen = best
    if best.encoding not in UNICODE_ENCODINGS:
        common = _preferred(from_bytes(sample, cp_isolation=list(COMMON_ENCODINGS)))
        if common is not None and common.chaos <= best.chaos + COMMON_ENCODING_MARGIN:
            chosen = common
    return chosen.encoding, str(chosen)


def _preferred(matches: Iterable[Any]) -> Any | None:
    """The cleanest match; among equally clean ones the more coherent, then the more common."""
    ranked = sorted(
        matches,
        key=lambda match: (round(match.chaos, 2), -round(match.coherence, 2), COMMON_ENCODINGS.index(match.encoding)),
    )
    return ranked[0] if ranked else None


@cache
def _libmagic() -> Any | None:
    """libmagic through python-magic, or None when the system library is missing
    (system check files.W002 says so; text is then reported as text/plain)."""
    try:
        import magic  # loads libmagic1 with ctypes on import
    except ImportError:
        logger.warning("libmagic is not installed; text files are reported as text/plain")
        return None
    return magic.Magic(mime=True)  # its calls hold a lock, so threads may share it


def libmagic_available() -> bool:
    return _libmagic() is not None


def text_content_type(sample: bytes) -> str:
    """libmagic's MIME type for a text (text/html, image/svg+xml, text/x-script.python, ...)."""
    checker = _libmagic()
    if checker is None:
        return "text/plain"
    try:
        mime = checker.from_buffer(sample)
    except Exception:  # python-magic raises its own MagicException; the type is only a label
        logger.exception("libmagic could not type a text sample")
        return "text/plain"
    if not mime or mime in UNINFORMATIVE_TYPES or len(mime) > MAX_CONTENT_TYPE_LENGTH:
        return "text/plain"
    return mime


def looks_like_json(text: str, *, whole: bool) -> bool:
    """Whether ``text`` is a JSON document (``whole``) or the start of one.

    Only objects, arrays and quoted strings count: a bare number or word is
    more useful as text."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] not in ("{", "[") and not (whole and stripped[:1] == '"'):
        return False
    parser = ijson.basic_parse_coro(_Discard())
    try:
        parser.send(stripped.encode("utf-8"))
        if whole:
            parser.close()
    except ijson.JSONError:
        return False
    return True


class _Discard:
    def send(self, value: object) -> None:
        pass


def json_events(stream: IO[bytes], encoding: str, *, chunk_size: int) -> Iterator[tuple[str, Any]]:
    """ijson's events for the whole ``stream``, read in chunks in the given
    text encoding, in constant memory; ijson.JSONError or UnicodeDecodeError
    when it is no JSON document."""
    return ijson.basic_parse(_Utf8Reader(stream, encoding), buf_size=chunk_size)


class _Utf8Reader:
    """A file object serving ``stream`` re-encoded as UTF-8 without a BOM, as ijson reads it."""

    def __init__(self, stream: IO[bytes], encoding: str):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self.started = False

    def read(self, size: int = -1) -> bytes:
        while True:
            raw = self.stream.read(size)
            text = self.decoder.decode(raw, final=not raw)
            if not self.started and text:
                text = text.removeprefix("\ufeff")
                self.started = True
            if text or not raw:
                return text.encode("utf-8")


def sniff_csv(text: str, *, whole: bool) -> tuple[type[csv.Dialect], str] | None:
    """The dialect of CSV ``text`` and the lines it was judged on: at least three
    lines (a header and two rows) and two columns, the same count on each; two
    lines of prose with a comma each are text."""
    lines = text.splitlines()
    if not whole:
        lines = lines[:-1]  # the sample may end mid-line
    lines = [line for line in lines if line.strip()][:50]
    if len(lines) < MIN_CSV_LINES:
        return None
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS)
    except csv.Error:
        return None
    widths = {len(row) for row in csv.reader(lines, dialect)}
    if len(widths) != 1 or widths.pop() < 2:
        return None
    return dialect, sample


def looks_like_csv(text: str, *, whole: bool) -> bool:
    return sniff_csv(text, whole=whole) is not None
