import csv
import io
import tracemalloc
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals import parsing
from deals.parsing import DealsFileError, count_deal_rows, iter_copy_csv, iter_deal_rows
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


CSV_HEADER = ",".join(HEADER)
# Columns in another order than COLUMNS: a fault's column is its place in the file.
REORDERED = "quantity,customer,item,date,total\r\n"
SEVERAL_FAULTS = (
    REORDERED
    + "1,ann,Ruby,2018-12-14 08:29:52,10\r\n"  # 2: fine
    + "0,bob,Ruby,2018-12-14 08:29:52,10\r\n"  # 3: quantity
    + "1,bob,Ruby,2018-12-14 08:29:52,-5\r\n"  # 4: total
    + "1,bob,Ruby\r\n"  # 5: the line itself
    + "1,cid,Opal,2018-12-14 08:29:52,7\r\n"  # 6: fine
    + "1,,Ruby,yesterday,10\r\n"  # 7: customer first, the date is not reached
    + '1,"dan\r\nsmith",Ruby,2018-12-14 08:29:52,10\r\n'  # 8-9: fine, quoted over two lines
    + "1,eve,Ruby,2019-02-30 10:00:00,10\r\n"  # 10: date
)
SEVERAL_ERRORS = [
    {"line": 3, "column": 1, "message": "quantity must be a positive whole number, got '0'"},
    {"line": 4, "column": 5, "message": "total must not be negative, got '-5'"},
    {"line": 5, "column": None, "message": "expected 5 fields, got 3"},
    {"line": 7, "column": 2, "message": "customer is empty"},
    {
        "line": 10,
        "column": 4,
        "message": "date must be an ISO 8601 date and time like 2018-12-14 08:29:52.506166, got '2019-02-30 10:00:00'",
    },
]


@pytest.mark.parametrize("block_chars", [8, 100, 1 << 16])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_every_fault_is_listed_in_file_order_with_its_line_and_column(block_chars, newline):
    data = SEVERAL_FAULTS.replace("\r\n", newline).encode()

    with mock.patch.object(parsing, "BLOCK_CHARS", block_chars), pytest.raises(DealsFileError) as refused:
        parse(data)

    assert (refused.value.message, refused.value.errors, refused.value.count) == (
        "Line 3: quantity must be a positive whole number, got '0'",
        SEVERAL_ERRORS,
        5,
    )


def test_faults_in_quote_free_blocks_are_listed_too():
    good = f"ann,Ruby,10,1,{WHEN}\n"
    data = (CSV_HEADER + "\n" + good * 3000 + "bob,Ruby,5,0,x\n" + good * 3000 + "cid,,5,1,x\n" + good).encode()

    with pytest.raises(DealsFileError) as refused:
        parse(data)

    assert (refused.value.errors, refused.value.count) == (
        [
            {"line": 3002, "column": 4, "message": "quantity must be a positive whole number, got '0'"},
            {"line": 6003, "column": 2, "message": "item is empty"},
        ],
        2,
    )


def test_only_the_first_thousand_faults_are_listed_and_all_are_counted():
    bad = f"bob,Ruby,5,0,{WHEN}\r\n"
    data = (CSV_HEADER + "\r\n" + (bad + f"ann,Ruby,10,1,{WHEN}\r\n") * 1500).encode()

    with pytest.raises(DealsFileError) as refused:
        parse(data)

    message = "quantity must be a positive whole number, got '0'"
    assert refused.value.errors == [{"line": 2 + 2 * n, "column": 4, "message": message} for n in range(1000)]
    assert refused.value.count == 1500


@pytest.mark.parametrize(
    ("tail", "last"),
    [
        (
            b'bob,"Ruby"x,5,1,' + WHEN.encode() + b"\r\n",
            {"line": 4, "column": None, "message": "malformed CSV (',' expected after '\"')"},
        ),
        (
            "Рубин,x,1,1,2018-12-14 08:29:52\r\n".encode("cp1251"),
            {"line": 4, "column": None, "message": "the file is not UTF-8 text"},
        ),
    ],
    ids=["stray quote", "not UTF-8"],
)
def test_a_fault_that_makes_the_rest_unreadable_is_the_last_one(tail, last):
    data = (CSV_HEADER + "\r\n" + f"bob,Ruby,5,0,{WHEN}\r\nann,Ruby,10,1,{WHEN}\r\n").encode() + tail + b"x,y\r\n" * 5

    with pytest.raises(DealsFileError) as refused:
        parse(data)

    first = {"line": 2, "column": 4, "message": "quantity must be a positive whole number, got '0'"}
    assert (refused.value.errors, refused.value.count) == ([first, last], 2)


def test_a_bad_header_is_one_fault_whatever_follows():
    data = b"customer,item,total,date\r\n" + b"ann,Ruby,-1,yesterday\r\n" * 10

    with pytest.raises(DealsFileError) as refused:
        parse(data)

    message = (
        "the header must name exactly the columns customer, item, total, quantity, date (in any order): "
        "missing quantity"
    )
    assert (refused.value.errors, refused.value.count) == ([{"line": 1, "column": None, "message": message}], 1)


def test_counting_rows_checks_the_file_as_an_upload_does(sample_csv):
    assert count_deal_rows(io.BytesIO(sample_csv)) == len(parse(sample_csv))
    with pytest.raises(DealsFileError) as refused:
        count_deal_rows(io.BytesIO(SEVERAL_FAULTS.encode()))
    assert (refused.value.errors, refused.value.count) == (SEVERAL_ERRORS, 5)


def test_memory_stays_flat_however_many_faults():
    def peak(lines: int) -> int:
        data = io.BytesIO((CSV_HEADER + "\r\n" + f"bob,Ruby,5,0,{WHEN}\r\n" * lines).encode())
        tracemalloc.start()
        try:
            with pytest.raises(DealsFileError):
                count_deal_rows(data)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(20_000), peak(200_000)

    assert large < small * 1.5
    assert large < 4 * 1024 * 1024
