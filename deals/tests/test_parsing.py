import csv
import io
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals import parsing
from deals.parsing import DealsFileError, iter_copy_csv, iter_deal_rows
from deals.tests.helpers import MALFORMED
from deals.tests.oracle import HEADER, csv_bytes

WHEN = "2018-12-14 08:29:52.506166"


def parse(data: bytes) -> list[tuple]:
    return list(iter_deal_rows(io.BytesIO(data)))


@pytest.mark.parametrize(("data", "desc"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_is_refused_with_its_line(data, desc):
    with pytest.raises(DealsFileError) as refused:
        parse(data)

    assert refused.value.message == desc


def test_real_sample_parses_every_row(sample_csv):
    rows = parse(sample_csv)

    assert (len(rows), rows[0], rows[-1]) == (
        767,
        (2, "bellwether", "Цаворит", "612", "6", "2018-12-14 08:29:52.506166"),
        (768, "wallflower", "Спессартин", "244", "4", "2019-12-13 18:17:21.866834"),
    )


@pytest.mark.parametrize(("newline", "bom"), [("\r\n", False), ("\n", False), ("\r\n", True), ("\r", True)])
def test_bom_and_line_endings_are_tolerated(newline, bom):
    data = csv_bytes([["ann", "Ruby", "10.5", "2", WHEN]], newline=newline, bom=bom)

    assert parse(data) == [(2, "ann", "Ruby", "10.5", "2", WHEN)]


def test_columns_in_any_order_and_blank_lines_skipped():
    data = b"date,quantity , total,item,customer\n\n" + WHEN.encode() + b",3,7,Ruby,ann\n\n"

    assert parse(data) == [(3, "ann", "Ruby", "7", "3", WHEN)]


def test_quoted_fields_keep_commas_quotes_and_newlines():
    data = csv_bytes([['a,"b"', "line\nbreak\ttab\\", "1", "1", WHEN], ["c", "d", "2", "1", WHEN]])

    assert parse(data) == [(2, 'a,"b"', "line\nbreak\ttab\\", "1", "1", WHEN), (4, "c", "d", "2", "1", WHEN)]


@pytest.mark.parametrize(
    ("given_date", "sent"),
    [
        ("2018-12-14T08:29:52", "2018-12-14T08:29:52"),
        ("2018-12-14 08:29", "2018-12-14 08:29"),
        ("2018-12-14T08:29:52.5+05:00", "2018-12-14T08:29:52.5+05:00"),
        ("2018-12-14T08:29:52Z", "2018-12-14T08:29:52Z"),
        ("20181214T082952", "2018-12-14T08:29:52"),
        ("2018-12-14 08:29:52,5", "2018-12-14T08:29:52.500000"),
    ],
)
def test_other_iso_shapes_are_sent_in_a_form_both_sides_read_alike(given_date, sent):
    rows = parse(csv_bytes([["ann", "Ruby", "1", "1", given_date]]))

    assert rows[0][5] == sent
    assert datetime.fromisoformat(sent) == datetime.fromisoformat(given_date)


# Letters from several scripts, and every character CSV or COPY must escape.
names = st.text(st.sampled_from(list('abZяЖé😀 ,"\n\t\\\u00a0')), min_size=1, max_size=6).filter(
    lambda s: s.strip() != ""
)
totals = st.builds(
    lambda whole, cents: f"{whole}.{cents}" if cents else str(whole),
    st.integers(0, 10**10 - 1),
    st.sampled_from(["", "5", "05", "50", "99"]),
)
dates = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis takes naive bounds and adds the zones
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.none() | st.just(UTC),  # type: ignore[arg-type]
).map(lambda d: d.isoformat(sep=" "))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(names, names, totals, st.integers(1, 2**31 - 1).map(str), dates), min_size=1, max_size=20),
    newline=st.sampled_from(["\r\n", "\n"]),
    bom=st.booleans(),
    order=st.permutations(range(5)),
    block_chars=st.sampled_from([8, 100, 1 << 16]),
)
def test_any_valid_file_parses_to_its_rows(rows, newline, bom, order, block_chars):
    header = [HEADER[i] for i in order]
    data = csv_bytes([[row[i] for i in order] for row in rows], header=header, newline=newline, bom=bom)

    with mock.patch.object(parsing, "BLOCK_CHARS", block_chars):
        parsed = parse(data)
        names, chunks = iter_copy_csv(io.BytesIO(data))
        copied = "".join(text for text, _ in chunks)

    assert [row[1:5] for row in parsed] == [row[:4] for row in rows]
    assert [datetime.fromisoformat(row[5]) for row in parsed] == [datetime.fromisoformat(row[4]) for row in rows]
    # What COPY receives reads back, with the csv module, as the same values.
    in_file_order = [[row[1:][HEADER.index(name)] for name in names] for row in parsed]
    assert list(csv.reader(io.StringIO(copied, newline=""))) == in_file_order


valid_file = st.lists(st.tuples(names, names, totals, st.integers(1, 99).map(str), dates), min_size=1, max_size=5).map(
    lambda rows: csv_bytes([list(r) for r in rows])
)


@st.composite
def mangled_files(draw) -> bytes:
    """A valid file, then bytes changed, inserted or cut anywhere."""
    data = bytearray(draw(valid_file))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "replace", "cut"]))
        chunk = draw(
            st.binary(min_size=1, max_size=3) | st.sampled_from([b",", b'"', b"\r\n", b"\x00", b"\xef\xbb\xbf"])
        )
        if action == "insert":
            data[at:at] = chunk
        elif action == "replace":
            data[at : at + len(chunk)] = chunk
        else:
            del data[at : at + len(chunk)]
    return bytes(data)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mangled_files() | st.binary(max_size=200), block_chars=st.sampled_from([8, 1 << 16]))
def test_any_bytes_give_rows_or_a_clear_error(data, block_chars):
    try:
        with mock.patch.object(parsing, "BLOCK_CHARS", block_chars):
            rows, error = parse(data), ""
    except DealsFileError as refused:
        rows, error = [], refused.message

    if error:
        assert error.startswith(("Line ", "The file "))
    else:
        assert rows
        assert all(row[0] >= 2 and row[1].strip() and row[2].strip() and int(row[4]) > 0 for row in rows)
