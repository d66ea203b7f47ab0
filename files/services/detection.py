"""What a file really is, from its first bytes: never from its name or the client's word."""

import csv
import json
import unicodedata
from dataclasses import dataclass

import filetype
from charset_normalizer import from_bytes

SAMPLE_BYTES = 64 * 1024

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


@dataclass(frozen=True)
class Detected:
    kind: str
    content_type: str
    encoding: str | None = None


def detect(sample: bytes) -> Detected:
    """Kind and MIME type of a file whose first bytes are ``sample``."""
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
    return Detected("text", "text/plain", encoding)


def text_encoding(sample: bytes) -> str | None:
    """The text encoding of ``sample``, or None when it is not text."""
    if not sample:
        return None
    if b"\x00" in sample and not sample.startswith(TEXT_BOMS):
        return None
    best = from_bytes(sample).best()
    if best is None:
        return None
    text = str(best)
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if controls > MAX_CONTROL_SHARE * max(len(text), 1):
        return None
    return best.encoding


def looks_like_json(text: str, *, whole: bool) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        return True
    if not whole:
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    # A bare number or word is more useful as text; only quoted strings and literals count.
    return stripped[:1] == '"'


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
