import io
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_at_once
from deals import parsing
from deals.models import CustomerItem, CustomerTotal, Deal, DealSet
from deals.parsing import DealsFileError
from deals.selectors import deals_report
from deals.services import deals_upload
from deals.tests.helpers import MALFORMED
from deals.tests.oracle import csv_bytes, oracle_report, oracle_rows_from_csv

pytestmark = pytest.mark.django_db

WHEN = "2018-12-14 08:29:52.506166"


def upload(data: bytes, **kwargs) -> DealSet:
    return deals_upload(file=io.BytesIO(data), **kwargs)


def raw_rows() -> list[tuple]:
    """The raw table's rows: those of the current data set, the only ones it holds."""
    return list(Deal.objects.order_by("id").values_list("customer", "total"))


def test_real_sample_report_matches_the_oracle(sample_csv, user):
    dealset = upload(sample_csv, user=user, name="deals.csv")

    assert deals_report() == oracle_report(oracle_rows_from_csv(sample_csv))
    assert (dealset.rows, dealset.is_current, dealset.uploaded_by, dealset.original_name) == (
        767,
        True,
        user,
        "deals.csv",
    )
    assert Deal.objects.count() == 767
    first = Deal.objects.order_by("id").first()
    assert (first.customer, first.item, first.total, first.quantity, first.date) == (
        "bellwether",
        "Цаворит",
        Decimal("612"),
        6,
        datetime(2018, 12, 14, 8, 29, 52, 506166, tzinfo=UTC),
    )


def test_real_sample_report_is_what_the_seed_expects(sample_csv):
    upload(sample_csv)

    report = deals_report()

    assert [(c["username"], c["spent_money"]) for c in report] == [
        (c["username"], c["spent_money"]) for c in oracle_report(oracle_rows_from_csv(sample_csv))
    ]
    assert len(report) == 5
    assert all(c["gems"] == sorted(c["gems"]) for c in report)


def test_upload_replaces_the_previous_data_set_leaving_no_trace():
    first = upload(csv_bytes([["ann", "Ruby", "10", "1", WHEN], ["bob", "Ruby", "5", "1", WHEN]]))

    second = upload(csv_bytes([["cid", "Opal", "7.25", "2", WHEN]]))

    assert list(DealSet.objects.values_list("pk", flat=True)) == [second.pk]
    assert raw_rows() == [("cid", Decimal("7.25"))]
    assert Deal.objects.count() == 1
    assert not CustomerTotal.objects.filter(dataset_id=first.pk).exists()
    assert not CustomerItem.objects.filter(dataset_id=first.pk).exists()
    assert deals_report() == [{"username": "cid", "spent_money": 7.25, "gems": []}]


def test_an_upload_changes_no_table_definition(sample_csv):
    upload(sample_csv)  # a previous data set, as in production

    with CaptureQueriesContext(connection) as queries:
        upload(csv_bytes([["cid", "Opal", "7.25", "2", WHEN]]))

    assert [q["sql"] for q in queries.captured_queries if "ALTER" in q["sql"].upper()] == []
    assert raw_rows() == [("cid", Decimal("7.25"))]


@pytest.mark.parametrize(("data", "desc"), MALFORMED.values(), ids=MALFORMED.keys())
def test_rejected_file_changes_nothing(data, desc):
    previous = upload(csv_bytes([["ann", "Ruby", "10", "1", WHEN]]))
    report = deals_report()

    with pytest.raises(DealsFileError) as refused:
        upload(data)

    assert refused.value.message == desc
    assert list(DealSet.objects.values_list("pk", "is_current")) == [(previous.pk, True)]
    assert raw_rows() == [("ann", Decimal("10"))]
    assert deals_report() == report


def test_ties_are_broken_by_username_in_code_point_order():
    rows = [[name, "Ruby", "5", "1", WHEN] for name in ["b", "a", "Z", "я", "é", "aa"]]

    upload(csv_bytes(rows))

    assert [c["username"] for c in deals_report()] == ["Z", "a", "aa", "b", "é"]


def test_gems_need_two_buyers_among_the_five_and_sort_by_code_point():
    # Ё is U+0401, before Е (U+0415): code point order, not a Russian collation.
    rows = [
        ["top1", "Ёлка", "100", "1", WHEN],
        ["top1", "Ель", "1", "1", WHEN],
        ["top1", "Opal", "1", "1", WHEN],
        ["top2", "Ёлка", "90", "1", WHEN],
        ["top2", "Ель", "1", "1", WHEN],
        ["top3", "Opal", "80", "1", WHEN],
        ["top4", "Jade", "70", "1", WHEN],
        ["top5", "Onyx", "60", "1", WHEN],
        ["sixth", "Jade", "1", "1", WHEN],
    ]

    upload(csv_bytes(rows))

    assert deals_report() == [
        {"username": "top1", "spent_money": 102, "gems": ["Opal", "Ёлка", "Ель"]},
        {"username": "top2", "spent_money": 91, "gems": ["Ёлка", "Ель"]},
        {"username": "top3", "spent_money": 80, "gems": ["Opal"]},
        {"username": "top4", "spent_money": 70, "gems": []},
        {"username": "top5", "spent_money": 60, "gems": []},
    ]


def test_cents_add_up_exactly():
    upload(csv_bytes([["ann", "Ruby", "0.1", "1", WHEN], ["ann", "Opal", "0.2", "1", WHEN]]))

    assert deals_report() == [{"username": "ann", "spent_money": 0.3, "gems": []}]


def test_no_data_set_gives_an_empty_report():
    assert deals_report() == []


customers = st.sampled_from(["ann", "bob", "cid", "dan", "eve", "fay", "Ann", "ёж", 'q"t', "a,b", "tab\tx", "b\\s"])
items = st.sampled_from(["Ruby", "Opal", "Сапфир", "Изумруд", "Ёлка", "a\nb", "x\\y"])
totals = st.builds(
    lambda whole, cents: f"{whole}.{cents}" if cents else str(whole),
    st.integers(0, 200),
    st.sampled_from(["", "5", "25", "99", "01"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(customers, items, totals, st.integers(1, 9)), min_size=1, max_size=40),
    block_chars=st.sampled_from([16, 200, 1 << 16]),
)
def test_report_and_rows_match_the_oracle_on_generated_data(rows, block_chars):
    data = csv_bytes([[c, i, t, str(q), WHEN] for c, i, t, q in rows])

    # Small blocks make one file go through both the column-wise and the csv paths.
    with mock.patch.object(parsing, "BLOCK_CHARS", block_chars):
        upload(data)

    assert deals_report() == oracle_report([(c, i, Decimal(t)) for c, i, t, _ in rows])
    stored = Deal.objects.order_by("id").values_list("customer", "item", "total", "quantity", "date")
    when = datetime.fromisoformat(WHEN).replace(tzinfo=UTC)
    assert list(stored) == [(c, i, Decimal(t), q, when) for c, i, t, q in rows]
    assert DealSet.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_end_with_one_complete_data_set(postgres):
    first = csv_bytes([["old", "Ruby", "1", "1", WHEN]])
    upload(first)
    files = [
        csv_bytes([[f"c{n}-{k}", f"item{k % 3}", str(k + n), "1", WHEN] for k in range(2000 + 500 * n)])
        for n in range(4)
    ]
    valid_reports = [oracle_report(oracle_rows_from_csv(data)) for data in [first, *files]]
    seen: list[list[dict]] = []
    written: list[bytes] = []

    def write(data: bytes) -> None:
        try:
            upload(data)
        finally:
            written.append(data)

    def read() -> None:
        while len(written) < len(files):
            seen.append(deals_report())

    results = run_at_once([*(partial(write, data) for data in files), read])

    assert [r for r in results if isinstance(r, Exception)] == []
    current = DealSet.objects.get()
    winner = next(data for data in files if len(oracle_rows_from_csv(data)) == current.rows)
    assert current.is_current
    assert Deal.objects.count() == current.rows
    assert set(CustomerTotal.objects.values_list("dataset_id", flat=True)) == {current.pk}
    assert deals_report() == oracle_report(oracle_rows_from_csv(winner))
    # A reader during the uploads saw one whole data set's report each time, never a mix.
    assert seen
    assert all(report in valid_reports for report in seen)


def test_upload_leaves_the_callers_file_open():
    data = io.BytesIO(csv_bytes([["ann", "Ruby", "1", "1", WHEN]]))

    deals_upload(file=data)

    assert not data.closed


def test_the_raw_rows_keep_no_index_and_unique_ids_on_postgresql(postgres):
    """COPY pays for every index of the raw table, and nothing reads one (0002)."""
    upload(b"customer,item,total,quantity,date\n" + b"".join(f"c{i},gem,1,1,{WHEN}\n".encode() for i in range(50)))
    upload(b"customer,item,total,quantity,date\n" + b"".join(f"d{i},gem,1,1,{WHEN}\n".encode() for i in range(50)))

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [Deal._meta.db_table])
        assert cursor.fetchone()[0] == 0
    ids = list(Deal.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 50
