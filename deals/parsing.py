"""Streaming validation of a deals CSV file: one pass, constant memory, every error
names its line (the header is line 1)."""

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from itertools import chain, repeat
from typing import BinaryIO

from config.errors import ApplicationError

COLUMNS = ("customer", "item", "total", "quantity", "date")
MAX_TOTAL_DIGITS = 10  # before the point: a million rows still sum inside a 64-bit count of cents
MAX_QUANTITY = 2_147_483_647  # a PostgreSQL integer
BLOCK_CHARS = 1 << 16  # read and checked at a time: memory stays flat, the block stays in CPU cache
QUOTED_BATCH_ROWS = 5_000
MAX_ERRORS = 1_000  # faults listed in a refusal; the rest are only counted (memory stays flat)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# The common shape, which PostgreSQL reads exactly as Python does; anything else
# ISO 8601 allows is sent in Python's own normalised form.
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?")


class DealsFileError(ApplicationError):
    """The file was refused; ``message`` says what is wrong and on which line (the
    first fault), ``errors`` lists the faults found in file order, at most
    ``MAX_ERRORS``, as ``{"line", "column", "message"}`` (``column``: the faulty
    field's 1-based number in the file, None when the line itself is at fault), and
    ``count`` says how many there were in all."""

    code = "invalid_deals_file"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None, detail: str = ""):
        super().__init__(message)
        self.errors: list[dict] = [{"line": line, "column": column, "message": detail or message}]
        self.count = 1


class _Faults:
    """The faults of one file: the first in full, the first ``MAX_ERRORS`` listed, all counted."""

    def __init__(self) -> None:
        self.first: DealsFileError | None = None
        self.listed: list[dict] = []
        self.count = 0

    def add(self, fault: DealsFileError) -> None:
        self.first = self.first or fault
        self.count += 1
        if len(self.listed) < MAX_ERRORS:
            self.listed.append(fault.errors[0])

    def raise_any(self) -> None:
        if self.first is not None:
            self.first.errors, self.first.count = self.listed, self.count
            raise self.first


# (line, customer, item, total, quantity, date), all text but the line: total is
# validated decimal text ("612", "612.50"), quantity a positive integer's digits and
# date text that PostgreSQL and Python read as the same instant (naive means UTC).
# A plain tuple: a named one costs a third of the parse time at a million rows.
DealRow = tuple[int, str, str, str, str, str]


def _line_error(line: int, message: str, column: int | None = None) -> DealsFileError:
    return DealsFileError(f"Line {line}: {message}", line=line, column=column, detail=message)


def _first_undecodable_line(binary: BinaryIO) -> tuple[int, int]:
    """Re-read the raw bytes line by line to find where UTF-8 decoding fails, as
    (line number, offset of its first byte): the text wrapper decodes in chunks, so
    its position is a chunk ahead of the reader."""
    binary.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    number, offset, start = 1, 0, 0
    for number, raw in enumerate(binary, start=1):
        start = offset
        offset += len(raw)
        try:
            decoder.decode(raw)
        except UnicodeDecodeError:
            return number, start
    return number, start  # a multi-byte sequence cut short at the very end


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of ``binary``, read from its start."""

    def __init__(self, binary: BinaryIO, size: int):
        binary.seek(0)
        self._binary, self._left = binary, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._binary.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _undecodable(binary: BinaryIO) -> _Faults:
    """The faults of a file that is not UTF-8 from some line on: those of the lines
    before it (checked again, since the text wrapper decodes ahead of the rows it
    hands out), then that line."""
    line, offset = _first_undecodable_line(binary)
    faults = _Faults()
    try:
        deque(_validated_blocks(io.BufferedReader(_Prefix(binary, offset)), whole=False), maxlen=0)
    except DealsFileError as before:
        faults.first, faults.listed, faults.count = before, before.errors, before.count
    faults.add(_line_error(line, "the file is not UTF-8 text"))
    return faults


def _check_header(fields: list[str]) -> dict[str, int]:
    names = [name.strip() for name in fields]
    missing = [c for c in COLUMNS if c not in names]
    unexpected = [n for n in names if n not in COLUMNS]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing or unexpected or duplicated:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected {', '.join(repr(n) for n in unexpected)}")
        if duplicated:
            problems.append(f"repeated {', '.join(duplicated)}")
        raise _line_error(
            1, f"the header must name exactly the columns {', '.join(COLUMNS)} (in any order): {'; '.join(problems)}"
        )
    return {name: names.index(name) for name in COLUMNS}


def _check_text(line: int, name: str, value: str, column: int) -> None:
    """The slow path, for values that are empty or hold a non-printable character."""
    if not value.strip():
        raise _line_error(line, f"{name} is empty", column)
    if "\x00" in value:
        raise _line_error(line, f"{name} contains a NUL byte", column)


def _is_total(value: str) -> bool:
    whole, point, cents = value.partition(".")
    return (
        value.isascii()
        and whole.isdigit()
        and len(whole) <= MAX_TOTAL_DIGITS
        and (not point or (cents.isdigit() and len(cents) <= 2))
    )


def _check_total(line: int, value: str, column: int) -> None:
    if _NUMBER.fullmatch(value):
        if value.startswith("-") and value.strip("-0.") != "":
            raise _line_error(line, f"total must not be negative, got {value!r}", column)
        if "." in value and len(value.split(".")[1]) > 2:
            raise _line_error(line, f"total has more than 2 decimal places: {value!r}", column)
        if len(value.lstrip("-").split(".")[0]) > MAX_TOTAL_DIGITS:
            raise _line_error(line, f"total is too large (at most {MAX_TOTAL_DIGITS} digits before the point)", column)
    raise _line_error(line, f"total must be a non-negative number like 612 or 612.50, got {value[:40]!r}", column)


def _check_quantity(line: int, value: str, column: int) -> None:
    if value.isascii() and value.isdigit():
        number = int(value)
        if number > MAX_QUANTITY:
            raise _line_error(line, f"quantity is too large (at most {MAX_QUANTITY})", column)
        if number > 0:
            return
    raise _line_error(line, f"quantity must be a positive whole number, got {value[:40]!r}", column)


def _check_date(line: int, value: str, column: int) -> str:
    """Parse ``value`` as Python does; return text PostgreSQL reads as the same instant."""
    try:
        # Python also reads a trailing NUL and non-ASCII digits or separators;
        # ISO 8601 (and PostgreSQL) do not.
        parsed = datetime.fromisoformat(value) if value.isascii() and value.isprintable() else None
    except ValueError:
        parsed = None
    if parsed is None or not ("T" in value or " " in value):
        raise _line_error(
            line,
            f"date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got {value[:40]!r}",
            column,
        )
    if _PLAIN_DATE.fullmatch(value):
        return value
    return parsed.isoformat()


def _check_row(start: int, fields: list[str], at: tuple[int, ...]) -> list[str] | None:
    """Validate one row (fields in file order); return it, its date possibly rewritten
    to a form PostgreSQL reads alike, or None for a blank line."""
    if len(fields) != 5:
        if not fields:
            return None
        raise _line_error(start, f"expected 5 fields, got {len(fields)}")
    customer, item, total, quantity, date = (fields[i] for i in at)
    if not customer.isprintable() or customer.isspace() or not customer:
        _check_text(start, "customer", customer, at[0] + 1)
    if not item.isprintable() or item.isspace() or not item:
        _check_text(start, "item", item, at[1] + 1)
    if not _is_total(total):
        _check_total(start, total, at[2] + 1)
    if not (quantity.isdigit() and quantity.isascii() and len(quantity) < 10 and quantity.strip("0")):
        _check_quantity(start, quantity, at[3] + 1)
    try:
        datetime.fromisoformat(date)
    except ValueError:
        _check_date(start, date, at[4] + 1)  # raises
    # An extended calendar date, T or space, an extended time: PostgreSQL reads it as
    # Python does. Any other ISO 8601 shape goes in Python's normal form.
    if (
        len(date) < 16
        or date[7] != "-"
        or date[13] != ":"
        or date[10] not in " T"
        or "," in date
        or not (date.isascii() and date.isprintable())
    ):
        fields = list(fields)
        fields[at[4]] = _check_date(start, date, at[4] + 1)
    return fields


_SHAPE = str.maketrans("0123456789T", "0000000000 ")
_DATE_SHAPES = {19: "0000-00-00 00:00:00"} | {n: "0000-00-00 00:00:00." + "0" * (n - 20) for n in range(21, 27)}


def _plain_block(block: str, at: tuple[int, ...]) -> tuple[str, list, int] | None:
    """A quote-free block whose rows all pass, checked a column at a time by C-level
    string and map calls (several times cheaper than the csv module and a Python
    loop per row): ``(text for COPY with LF line ends, columns in file order, rows)``.
    None when anything is unusual; ``_check_row`` then reads the block with the csv
    module and either accepts it too or names its bad lines, so this path is
    only ever stricter. Without quotes, CSV is exactly lines split on LF or CRLF and
    fields split on commas, which is also how PostgreSQL's COPY reads the text."""
    text = block.replace("\r\n", "\n") if "\r" in block else block
    if "\r" in text:
        return None  # a bare CR ends a line for Python, not for COPY
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    if max(map(len, lines)) > csv.field_size_limit() or set(map(str.count, lines, repeat(","))) != {4}:
        return None  # a blank line, a wrong field count or an over-long field: the csv path words it
    fields = ",".join(lines).split(",")
    columns = [fields[i::5] for i in range(5)]
    customers, items, totals, quantities, dates = (columns[i] for i in at)
    names = customers + items
    if not ("".join(names).isprintable() and all(names)) or any(map(str.isspace, names)):
        return None
    digits = "".join(totals)
    integers = all(totals) and digits.isdigit() and digits.isascii() and max(map(len, totals)) <= MAX_TOTAL_DIGITS
    if not integers and not all(map(_is_total, totals)):
        return None
    # Digits only, at most 9, none leading with 0: a positive PostgreSQL integer.
    digits = ",".join(quantities)
    if not (digits.replace(",", "").isdigit() and digits.isascii() and max(map(len, quantities)) < 10):
        return None
    if digits.startswith("0") or ",0" in digits:
        return None
    lengths = set(map(len, dates))
    shape = _DATE_SHAPES.get(lengths.pop()) if len(lengths) == 1 else None
    if shape is None or "".join(dates).translate(_SHAPE) != shape * len(dates):
        return None
    try:
        deque(map(datetime.fromisoformat, dates), maxlen=0)  # real dates: no 30 February
    except ValueError:
        return None
    return text, columns, len(lines)


def _validated_blocks(binary: BinaryIO, *, whole: bool = True) -> Iterator:
    """Yield the header's column names in file order, then blocks of validated rows as
    ``(text, starts, columns)``: ``text`` is the block ready for COPY (FORMAT csv) or
    None, ``starts`` the rows' line numbers, ``columns`` their values in file order.

    Quote-free blocks of 64 KB are checked a column at a time and passed on as they
    are. Once a quote appears, one csv reader takes the rest of the file row by row,
    since a quoted field may span lines and blocks.

    A faulty row is noted and the check goes on, yielding nothing more, so that one
    ``DealsFileError`` at the end lists every fault. A fault that leaves the rest of
    the file unreadable (the header, malformed CSV quoting, bytes that are not
    UTF-8) is the last one noted. ``whole=False``: a prefix of the file, which
    may be empty or hold no rows."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    line = 1  # the last line read
    in_block = None  # the csv reader of the current quote-free block
    faults = _Faults()
    try:
        try:
            first = text.readline()
            header = next(csv.reader([first], strict=True), [])
            if not first and not whole:
                return
            if not first:
                raise DealsFileError(
                    "The file is empty: send a CSV with the header customer,item,total,quantity,date.", line=1
                )
            index = _check_header(header)
            names = [name.strip() for name in header]
            at = tuple(index[c] for c in COLUMNS)
            yield names
            count = 0
            quoted = ""
            while block := text.read(BLOCK_CHARS):
                if not block.endswith("\n"):
                    block += text.readline()  # whole lines only (also completes a split CRLF)
                if '"' in block:
                    quoted = block
                    break
                plain = _plain_block(block, at)
                if plain:
                    copy_text, columns, rows = plain
                    if not faults.count:
                        yield copy_text, range(line + 1, line + 1 + rows), columns
                    count += rows
                    line += rows
                    continue
                in_block = csv.reader(io.StringIO(block, newline=""))
                kept = []
                for fields in in_block:
                    try:
                        checked = _check_row(line + in_block.line_num, fields, at)
                    except DealsFileError as fault:
                        faults.add(fault)
                        continue
                    if checked:
                        kept.append((line + in_block.line_num, checked))
                line += in_block.line_num
                in_block = None
                if kept and faults.count:
                    count += len(kept)
                elif kept:
                    yield None, [s for s, _ in kept], list(zip(*(r for _, r in kept), strict=True))
                    count += len(kept)
            if quoted:
                reader = csv.reader(chain(io.StringIO(quoted, newline=""), text), strict=True)
                base = line
                starts: list[int] = []
                batch: list[list[str]] = []
                for fields in reader:
                    # A quoted field may span lines: the row starts after the previous one.
                    start, line = line + 1, base + reader.line_num
                    try:
                        checked = _check_row(start, fields, at)
                    except DealsFileError as fault:
                        faults.add(fault)
                        starts, batch = [], []  # nothing more goes out
                        continue
                    if checked and faults.count:
                        count += 1
                    elif checked:
                        starts.append(start)
                        batch.append(checked)
                        if len(batch) >= QUOTED_BATCH_ROWS:
                            yield None, starts, list(zip(*batch, strict=True))
                            count += len(batch)
                            starts, batch = [], []
                if batch:
                    yield None, starts, list(zip(*batch, strict=True))
                    count += len(batch)
            faults.raise_any()
            if count == 0 and whole:
                raise DealsFileError("The file has a header but no deals (line 2 onwards is empty).", line=2)
        except csv.Error as exc:
            where = line + (in_block.line_num if in_block is not None else 1)
            faults.add(_line_error(where, f"malformed CSV ({exc})"))
            faults.raise_any()
        except UnicodeDecodeError:
            _undecodable(binary).raise_any()
    finally:
        text.detach()  # the caller owns the binary file


def iter_deal_rows(binary: BinaryIO) -> Iterator[DealRow]:
    """Yield each validated row of ``binary`` (a seekable binary file) as
    (line, customer, item, total, quantity, date) until the first fault; at the end,
    raise ``DealsFileError`` listing every fault. Memory stays flat: one 64 KB block
    at a time."""
    blocks = _validated_blocks(binary)
    names = next(blocks)
    order = [names.index(c) for c in COLUMNS]
    for _, starts, columns in blocks:
        yield from zip(starts, *(columns[i] for i in order), strict=True)


def count_deal_rows(binary: BinaryIO) -> int:
    """Validate ``binary`` as an upload would and return its number of rows, or raise
    ``DealsFileError`` listing its faults. Memory stays flat, as in an upload."""
    blocks = _validated_blocks(binary)
    next(blocks)
    return sum(len(starts) for _, starts, _ in blocks)


def iter_copy_csv(binary: BinaryIO) -> tuple[list[str], Iterator[tuple[str, int]]]:
    """The column names in file order, and an iterator of (CSV text, row count) ready
    for ``COPY ... (FORMAT csv)`` into those columns. Validation runs as the iterator
    is consumed: a bad line raises ``DealsFileError`` in the middle of the COPY."""
    blocks = _validated_blocks(binary)
    names = next(blocks)

    def chunks() -> Iterator[tuple[str, int]]:
        for text, starts, columns in blocks:
            if text is None:
                out = io.StringIO()
                # Every field quoted: a carriage return inside a value stays data.
                csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(zip(*columns, strict=True))
                yield out.getvalue(), len(starts)
            else:
                yield text, len(starts)

    return names, chunks()
