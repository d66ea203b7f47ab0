"""Children read in their parent's query give what the ORM's own ``values()`` query of them gives."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Window
from django.test.utils import CaptureQueriesContext

from codecheck.models import Check, CodeFile, Finding
from codecheck.tests.factories import CheckFactory, FindingFactory
from config.child_rows import child_rows
from orders.models import Order, OrderItem, ShippingAttempt
from orders.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

ITEM_FIELDS = ("product_id", "product_name", "quantity", "price_at_purchase")
ATTEMPT_FIELDS = ("number", "attempted_at", "finished_at", "succeeded", "status_code", "error", "duration_ms")
NAMES = ["Чайник «Ласточка»", 'quote " backslash \\ newline \n tab \t', "emoji 🧾 and 𝔘nicode", ""]
PRICES = [Decimal("0.01"), Decimal("12.00"), Decimal("12.50"), Decimal("99999999.99"), Decimal("1E+2")]


def _orders_with_children():
    """An order without children, and one with lines and shipping attempts of every kind of value."""
    empty = OrderFactory()
    full = OrderFactory()
    for i, (name, price) in enumerate(zip(NAMES, PRICES, strict=False)):
        OrderItemFactory(order=full, product=ProductFactory(price=price), product_name=name, quantity=i + 1)
    # Written out of order: the answer follows ``number``, not the order of writing.
    for number, finished, succeeded, status_code in (
        (3, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), True, 201),
        (1, None, False, None),
        (2, datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), False, 503),
    ):
        ShippingAttempt.objects.create(
            order=full,
            number=number,
            finished_at=finished,
            succeeded=succeeded,
            status_code=status_code,
            error=NAMES[number % len(NAMES)],
            duration_ms=number * 7,
        )
    return [empty, full]


def _annotated(orders):
    return orders.annotate(
        item_list=child_rows(OrderItem, "order", ITEM_FIELDS),
        attempt_list=child_rows(ShippingAttempt, "order", ATTEMPT_FIELDS, order_by=("number",)),
    )


def _same_values(ours: list[dict], theirs: list[dict]) -> None:
    assert ours == theirs
    for our_row, their_row in zip(ours, theirs, strict=True):
        assert {k: type(v) for k, v in our_row.items()} == {k: type(v) for k, v in their_row.items()}
        for name, value in our_row.items():
            if isinstance(value, Decimal):  # the same digits, not only the same number
                assert value.quantize(Decimal("0.01")) == their_row[name].quantize(Decimal("0.01"))


def test_children_are_the_orms_own_rows_in_their_order():
    orders = _orders_with_children()

    read = list(_annotated(Order.objects.filter(pk__in=[o.pk for o in orders])).order_by("pk"))

    assert [o.pk for o in read] == [o.pk for o in orders]
    for order in read:
        _same_values(order.item_list, list(OrderItem.objects.filter(order=order).order_by("pk").values(*ITEM_FIELDS)))
        _same_values(
            order.attempt_list,
            list(ShippingAttempt.objects.filter(order=order).order_by("number").values(*ATTEMPT_FIELDS)),
        )
    assert read[0].item_list == read[0].attempt_list == []
    assert [a["number"] for a in read[1].attempt_list] == [1, 2, 3]
    assert read[1].attempt_list[0]["attempted_at"].tzinfo is not None


def test_sort_only_fields_are_left_out_and_ties_keep_the_order_of_writing():
    check = CheckFactory(passed=False)
    written = [
        FindingFactory(check_log=check, line=2, column=1, code="E302"),
        FindingFactory(check_log=check, line=1, column=5, code="W291"),
        FindingFactory(check_log=check, line=1, column=5, code="E225"),  # same place: flake8's order stays
        FindingFactory(check_log=check, line=1, column=1, code="F401"),
    ]
    fields = ("line", "column", "code", "message")

    [read] = Check.objects.filter(pk=check.pk).annotate(
        finding_list=child_rows(Finding, "check_log", fields, order_by=("line", "column", "pk"))
    )

    expected = Finding.objects.filter(check_log=check).order_by("line", "column", "pk").values(*fields)
    _same_values(read.finding_list, list(expected))
    assert [f["code"] for f in read.finding_list] == ["F401", "W291", "E225", "E302"]
    assert len(written) == len(read.finding_list)


def test_one_query_reads_a_page_with_its_total_and_children():
    orders = _orders_with_children()
    page = _annotated(Order.objects.filter(pk__in=[o.pk for o in orders])).annotate(total=Window(Count("*")))

    with CaptureQueriesContext(connection) as queries:
        rows = list(page.order_by("pk")[:1])

    assert len(queries) == 1
    assert rows[0].total == 2  # the window counts parents, not parents times children
    assert rows[0].item_list == []


def test_a_field_json_cannot_carry_is_refused():
    with pytest.raises(TypeError, match=r"JSONField Check\.new_findings"):
        child_rows(Check, "file", ("new_findings",))
    assert CodeFile.objects.count() == 0
