from collections import OrderedDict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.errors import PermissionDenied
from orders.errors import InsufficientStock, InvalidTransition, ProductInUse
from orders.models import Order, OrderEvent, OrderItem, OrderStatus, Product, ShippingStatus
from orders.services import (
    OrderLineIn,
    _order_write,
    _order_write_orm,
    order_create,
    order_status_change,
    order_sweep,
    product_create,
    product_delete,
    product_update,
)
from orders.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def queued_tasks(callbacks) -> list[tuple[str, tuple]]:
    """The tasks published by on-commit callbacks: (name, args)."""
    return [
        (cb.func.__self__.name, tuple(cb.args[0]))
        for cb in callbacks
        if getattr(cb, "func", None) is not None and getattr(cb.func, "__name__", "") == "publish_quietly"
    ]


def line(product, quantity):
    return OrderLineIn(product_id=product.pk, quantity=quantity)


def test_order_create_decrements_stock(user, django_capture_on_commit_callbacks):
    product = ProductFactory(stock=5, price=Decimal("10.00"))

    with django_capture_on_commit_callbacks() as callbacks:
        order = order_create(user=user, lines=[line(product, 2)])

    product.refresh_from_db()
    assert (product.stock, order.total_price, order.status) == (3, Decimal("20.00"), OrderStatus.PENDING)
    assert queued_tasks(callbacks) == [("orders.tasks.order_receipt_task", (order.pk,))]


def test_order_create_stores_price_and_name_at_purchase(user):
    product = ProductFactory(price=Decimal("3.33"), name="Mug")

    order = order_create(user=user, lines=[line(product, 3)])
    Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"), name="Big mug")

    item = OrderItem.objects.get(order=order)
    assert (item.price_at_purchase, item.product_name, item.quantity) == (Decimal("3.33"), "Mug", 3)
    assert order.total_price == Decimal("9.99")


def test_order_create_merges_duplicate_lines(user):
    a, b = ProductFactory(stock=10, price=Decimal("1.50")), ProductFactory(stock=10, price=Decimal("2.00"))

    order = order_create(user=user, lines=[line(b, 1), line(a, 2), line(b, 3)])

    assert list(order.items.order_by("product_id").values_list("product_id", "quantity")) == [(a.pk, 2), (b.pk, 4)]
    assert order.total_price == Decimal("11.00")
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [8, 6]


def test_order_create_insufficient_stock_names_product_and_changes_nothing(user):
    plenty = ProductFactory(stock=10)
    scarce = ProductFactory(stock=2, name="Rare book")

    with pytest.raises(InsufficientStock) as excinfo:
        order_create(user=user, lines=[line(plenty, 1), line(scarce, 3)])

    assert excinfo.value.message == f'Not enough stock for "Rare book" (product {scarce.pk}): 3 requested, 2 available.'
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [10, 2]
    assert not Order.objects.exists()


def test_order_create_unknown_product(user):
    product = ProductFactory()

    with pytest.raises(ValidationError) as excinfo:
        order_create(user=user, lines=[line(product, 1), OrderLineIn(product_id=product.pk + 100, quantity=1)])

    assert excinfo.value.message_dict == {"items": [f"Product {product.pk + 100} does not exist."]}
    assert not Order.objects.exists()


def test_order_create_needs_a_line(user):
    with pytest.raises(ValidationError):
        order_create(user=user, lines=[])


def test_order_create_enforces_minimum_total(user, settings):
    settings.ORDERS_MIN_TOTAL = Decimal("25.00")
    product = ProductFactory(stock=5, price=Decimal("12.00"))

    with pytest.raises(ValidationError) as excinfo:
        order_create(user=user, lines=[line(product, 2)])

    assert excinfo.value.message_dict == {"items": ["The order total 24.00 is below the minimum order total of 25.00."]}
    product.refresh_from_db()
    assert product.stock == 5


def test_multi_line_order_decrements_every_product_and_invalidates_the_list_once(
    user, django_capture_on_commit_callbacks
):
    from config.cache import _generation_bump
    from orders.cache import PRODUCT_LIST

    a, b, c = (ProductFactory(stock=10, price=Decimal(price)) for price in ("1.25", "2.50", "4.00"))

    with django_capture_on_commit_callbacks() as callbacks:
        order = order_create(user=user, lines=[line(c, 3), line(a, 1), line(b, 2)])

    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [9, 8, 7]
    assert list(order.items.order_by("product_id").values_list("product_id", "quantity", "price_at_purchase")) == [
        (a.pk, 1, Decimal("1.25")),
        (b.pk, 2, Decimal("2.50")),
        (c.pk, 3, Decimal("4.00")),
    ]
    bumps = [cb for cb in callbacks if getattr(cb, "func", None) is _generation_bump]
    assert [cb.args for cb in bumps] == [(f"{PRODUCT_LIST}:gen",)]
    assert queued_tasks(callbacks) == [("orders.tasks.order_receipt_task", (order.pk,))]


def test_orders_of_different_sizes_each_lock_and_decrement_their_own_products(user):
    products = [ProductFactory(stock=50, price=Decimal("1.00")) for _ in range(12)]

    for size in (12, 1, 5, 12, 2):  # the locking query is compiled once per number of products
        order_create(user=user, lines=[line(p, 1) for p in reversed(products[:size])])

    stocks = list(Product.objects.order_by("pk").values_list("stock", flat=True))
    assert stocks == [45, 46, 47, 47, 47] + [48] * 7
    assert sorted(Order.objects.values_list("total_price", flat=True)) == [1, 2, 5, 12, 12]


def test_order_create_returns_the_order_as_stored(user):
    product = ProductFactory(stock=5, price=Decimal("7.10"), name="Lamp")

    order = order_create(user=user, lines=[line(product, 2)])

    stored = Order.objects.get(pk=order.pk)
    fields = ("user_id", "total_price", "status", "created_at", "updated_at", "receipt", "shipping_status")
    assert [getattr(order, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert (stored.total_price, stored.status, stored.receipt.name, stored.shipping_status) == (
        Decimal("14.20"),
        OrderStatus.PENDING,
        "",
        ShippingStatus.NOT_REQUESTED,
    )
    assert not order._state.adding
    item = stored.items.get()
    assert (item.product_id, item.product_name, item.quantity, item.price_at_purchase) == (
        product.pk,
        "Lamp",
        2,
        Decimal("7.10"),
    )


def test_insufficient_stock_on_the_second_of_three_lines_changes_nothing(user, django_capture_on_commit_callbacks):
    a, b, c = ProductFactory(stock=5), ProductFactory(stock=1, name="Scarce"), ProductFactory(stock=5)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InsufficientStock) as excinfo:
        order_create(user=user, lines=[line(a, 2), line(b, 2), line(c, 2)])

    assert excinfo.value.message == f'Not enough stock for "Scarce" (product {b.pk}): 2 requested, 1 available.'
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [5, 1, 5]
    assert (Order.objects.count(), OrderItem.objects.count(), callbacks) == (0, 0, [])


def test_order_create_locks_products_in_pk_order_before_updating(user, postgres):
    products = [ProductFactory(stock=5) for _ in range(3)]

    with CaptureQueriesContext(connection) as ctx:
        order_create(user=user, lines=[line(products[2], 1), line(products[0], 1), line(products[1], 1)])

    sql = [q["sql"] for q in ctx.captured_queries]
    lock = next(i for i, s in enumerate(sql) if "FOR UPDATE" in s)
    # The stock UPDATE may be one of several writes in a statement (a data-modifying CTE).
    update = next(i for i, s in enumerate(sql) if 'UPDATE "orders_product"' in s)
    assert lock < update
    assert 'ORDER BY "orders_product"."id" ASC' in sql[lock]
    assert 'FOR UPDATE OF "orders_product"' in sql[lock]


def test_order_write_paths_write_the_same_rows(user, postgres):
    """The single PostgreSQL statement and the ORM's three statements: same order, lines and stock."""
    a, b = ProductFactory(stock=50, price=Decimal("3.10")), ProductFactory(stock=50, price=Decimal("12.00"))
    wanted = OrderedDict([(b.pk, 3), (a.pk, 2)])
    products = {p.pk: p for p in Product.objects.filter(pk__in=[a.pk, b.pk])}
    total = Decimal("42.20")

    with transaction.atomic():
        single = _order_write(user=user, total=total, wanted=wanted, products=products)
    with transaction.atomic():
        orm = _order_write_orm(user=user, total=total, wanted=wanted, products=products)

    def rows(order):
        fields = [f.attname for f in Order._meta.concrete_fields if f.attname not in ("id", "created_at", "updated_at")]
        stored = Order.objects.filter(pk=order.pk)
        items = OrderItem.objects.filter(order=order).order_by("product_id")
        created_at, updated_at = stored.values_list("created_at", "updated_at").get()
        event = OrderEvent.objects.get(order=order)
        return (
            stored.values(*fields).get(),
            list(items.values_list("product_id", "product_name", "quantity", "price_at_purchase")),
            (created_at is not None, updated_at >= created_at),
            (event.type, event.data, event.created_at == created_at),
        )

    assert rows(single) == rows(orm)
    assert rows(single)[0]["total_price"] == total
    assert rows(single)[2:] == ((True, True), ("created", rows(single)[3][1], True))
    assert dict(Product.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "stock")) == {a.pk: 46, b.pk: 44}
    assert Order.objects.filter(pk=single.pk).exists()


def _order(user, product, quantity=2, status=OrderStatus.PENDING):
    order = order_create(user=user, lines=[line(product, quantity)])
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (OrderStatus.PENDING, OrderStatus.PROCESSING),
        (OrderStatus.PROCESSING, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    ],
)
def test_admin_moves_order_along_the_workflow(user, staff_user, start, target):
    order = _order(user, ProductFactory(stock=5), status=start)

    changed = order_status_change(order=order, actor=staff_user, status=target)

    assert changed.status == target
    assert Order.objects.get(pk=order.pk).status == target


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (OrderStatus.PENDING, OrderStatus.SHIPPED, "processing, cancelled"),
        (OrderStatus.PENDING, OrderStatus.PENDING, "processing, cancelled"),
        (OrderStatus.PROCESSING, OrderStatus.DELIVERED, "shipped, cancelled"),
        (OrderStatus.SHIPPED, OrderStatus.CANCELLED, "delivered"),
        (OrderStatus.DELIVERED, OrderStatus.PENDING, "none, delivered is final"),
        (OrderStatus.CANCELLED, OrderStatus.PROCESSING, "none, cancelled is final"),
    ],
)
def test_admin_invalid_transition_lists_allowed(user, staff_user, start, target, allowed):
    order = _order(user, ProductFactory(stock=5), status=start)

    with pytest.raises(InvalidTransition) as excinfo:
        order_status_change(order=order, actor=staff_user, status=target)

    assert excinfo.value.message == f"An order cannot move from {start} to {target}; allowed: {allowed}."
    assert Order.objects.get(pk=order.pk).status == start


@pytest.mark.parametrize("start", [OrderStatus.PENDING, OrderStatus.PROCESSING])
def test_admin_cancel_returns_stock(user, staff_user, start):
    product = ProductFactory(stock=5)
    order = _order(user, product, quantity=3, status=start)

    order_status_change(order=order, actor=staff_user, status=OrderStatus.CANCELLED)

    product.refresh_from_db()
    assert (product.stock, Order.objects.get(pk=order.pk).status) == (5, OrderStatus.CANCELLED)


def test_owner_cancels_pending_order_and_stock_returns(user):
    a, b = ProductFactory(stock=5), ProductFactory(stock=7)
    order = order_create(user=user, lines=[line(a, 5), line(b, 1)])

    order_status_change(order=order, actor=user, status=OrderStatus.CANCELLED)

    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [5, 7]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (OrderStatus.PENDING, OrderStatus.PROCESSING),
        (OrderStatus.PROCESSING, OrderStatus.CANCELLED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
        (OrderStatus.CANCELLED, OrderStatus.CANCELLED),
    ],
)
def test_owner_may_only_cancel_a_pending_order(user, start, target):
    product = ProductFactory(stock=5)
    order = _order(user, product, quantity=2, status=start)

    with pytest.raises(PermissionDenied):
        order_status_change(order=order, actor=user, status=target)

    product.refresh_from_db()
    assert (product.stock, Order.objects.get(pk=order.pk).status) == (3, start)


def test_shipping_marks_call_pending_and_enqueues_it(user, staff_user, django_capture_on_commit_callbacks):
    order = _order(user, ProductFactory(stock=5), status=OrderStatus.PROCESSING)

    with django_capture_on_commit_callbacks() as callbacks:
        order_status_change(order=order, actor=staff_user, status=OrderStatus.SHIPPED)

    order.refresh_from_db()
    assert order.shipping_status == ShippingStatus.PENDING
    assert order.shipping_updated_at is not None
    assert queued_tasks(callbacks) == [("orders.tasks.order_notify_shipping_task", (order.pk,))]


def test_product_create_and_update_validate():
    product = product_create(name="Desk", description="", price=Decimal("99.90"), stock=3, category="home")

    updated = product_update(product=product, data={"stock": 0, "price": Decimal("89.90")})

    assert (updated.stock, updated.price) == (0, Decimal("89.90"))
    with pytest.raises(ValidationError):
        product_update(product=product, data={"category": "weapons"})


def test_product_delete_refused_when_ordered():
    item = OrderItemFactory()

    with pytest.raises(ProductInUse) as excinfo:
        product_delete(product=item.product)

    assert "set its stock to 0" in excinfo.value.message
    assert Product.objects.filter(pk=item.product_id).exists()


def test_product_delete_unordered():
    product = ProductFactory()

    product_delete(product=product)

    assert not Product.objects.exists()


def test_sweep_re_enqueues_stale_receipts_and_shipping(user, django_capture_on_commit_callbacks):
    product = ProductFactory(stock=10)
    stale = order_create(user=user, lines=[line(product, 1)])
    fresh = order_create(user=user, lines=[line(product, 1)])
    shipping = OrderFactory(shipping_status=ShippingStatus.PENDING)
    long_ago = timezone.now() - timedelta(minutes=10)
    Order.objects.filter(pk__in=[stale.pk, shipping.pk]).update(created_at=long_ago, shipping_updated_at=long_ago)
    Order.objects.filter(pk=shipping.pk).update(receipt="orders/receipts/x.pdf")
    shipping.emails.create(recipient="a@example.com", subject="s", body="b", sent_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = order_sweep(older_than=timedelta(minutes=5))

    assert counts == {"receipts": 1, "shipping": 1}
    assert queued_tasks(callbacks) == [
        ("orders.tasks.order_receipt_task", (stale.pk,)),
        ("orders.tasks.order_notify_shipping_task", (shipping.pk,)),
    ]
    shipping.refresh_from_db()
    assert shipping.shipping_updated_at > long_ago
    assert fresh.pk not in [args[0] for _, args in queued_tasks(callbacks)]


def test_cancel_returns_stock_above_the_api_stock_limit(user, staff_user):
    product = ProductFactory(stock=5)
    order = order_create(user=user, lines=[line(product, 3)])
    Product.objects.filter(pk=product.pk).update(stock=2_147_483_647)

    order_status_change(order=order, actor=staff_user, status=OrderStatus.CANCELLED)

    product.refresh_from_db()
    assert product.stock == 2_147_483_650
