"""Real concurrency on PostgreSQL: many threads, each with its own connection, at once."""

import threading
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import jwt_client, run_at_once
from orders.errors import ShippingApiError
from orders.models import Order, OrderItem, OrderStatus, Product, ShippingAttempt, ShippingStatus
from orders.services import OrderLineIn, order_create, order_notify_shipping
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = reverse("orders-api:order-list")


def _post(client, items):
    return lambda: client.post(ORDERS, {"items": items}, format="json").status_code


def test_fifty_buyers_for_ten_items(postgres):
    product = ProductFactory(stock=10, price=Decimal("5.00"))
    clients = [jwt_client(UserFactory()) for _ in range(50)]

    codes = run_at_once([_post(c, [{"product": product.pk, "quantity": 1}]) for c in clients])

    assert sorted(codes) == [HTTPStatus.CREATED] * 10 + [HTTPStatus.BAD_REQUEST] * 40
    product.refresh_from_db()
    assert (product.stock, Order.objects.count(), sum(OrderItem.objects.values_list("quantity", flat=True))) == (
        0,
        10,
        10,
    )


def test_multi_line_orders_in_opposite_order_do_not_deadlock(postgres):
    a, b, c = (ProductFactory(stock=100) for _ in range(3))
    forward = [{"product": a.pk, "quantity": 1}, {"product": b.pk, "quantity": 1}, {"product": c.pk, "quantity": 1}]
    backward = list(reversed(forward))
    clients = [jwt_client(UserFactory()) for _ in range(40)]

    codes = run_at_once([_post(cl, forward if i % 2 else backward) for i, cl in enumerate(clients)])

    assert codes == [HTTPStatus.CREATED] * 40
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [60, 60, 60]


def test_concurrent_cancellations_return_stock_once(postgres):
    owner, admin = UserFactory(), UserFactory(is_staff=True)
    product = ProductFactory(stock=5)
    order = order_create(user=owner, lines=[OrderLineIn(product_id=product.pk, quantity=4)])
    clients = [jwt_client(owner) for _ in range(5)] + [jwt_client(admin) for _ in range(5)]
    url = reverse("orders-api:order-detail", args=[order.pk])

    codes = run_at_once([lambda cl=cl: cl.patch(url, {"status": "cancelled"}).status_code for cl in clients])

    assert codes.count(HTTPStatus.OK) == 1
    assert set(codes) <= {HTTPStatus.OK, HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN}
    product.refresh_from_db()
    assert (product.stock, Order.objects.get().status) == (5, OrderStatus.CANCELLED)


def test_concurrent_buyers_on_the_configured_database():
    """Also the embedded default: on SQLite, writers queue on IMMEDIATE transactions."""
    product = ProductFactory(stock=3, price=Decimal("5.00"))
    clients = [jwt_client(UserFactory()) for _ in range(10)]

    codes = run_at_once([_post(c, [{"product": product.pk, "quantity": 1}]) for c in clients])

    assert sorted(codes) == [HTTPStatus.CREATED] * 3 + [HTTPStatus.BAD_REQUEST] * 7
    product.refresh_from_db()
    assert (product.stock, Order.objects.count()) == (0, 3)


def test_price_changed_while_waiting_for_the_lock_is_the_price_charged(postgres):
    from django.db import transaction

    from conftest import wait_until

    buyer_user = UserFactory()
    product = ProductFactory(stock=5, price=Decimal("10.00"))
    locked, release = threading.Event(), threading.Event()
    result: dict = {}

    def admin():
        try:
            with transaction.atomic():
                Product.objects.select_for_update().get(pk=product.pk)
                locked.set()
                release.wait(30)
                Product.objects.filter(pk=product.pk).update(price=Decimal("12.00"))
        finally:
            connection.close()

    def buyer():
        try:
            result["order"] = order_create(user=buyer_user, lines=[OrderLineIn(product_id=product.pk, quantity=2)])
        finally:
            connection.close()

    threads = [threading.Thread(target=admin), threading.Thread(target=buyer)]
    threads[0].start()
    locked.wait(30)
    threads[1].start()
    with connection.cursor() as cursor:  # the buyer has read the old price and waits on the row lock

        def buyer_waits():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cursor.fetchone()[0] == 1

        wait_until(buyer_waits, timeout=30)
    release.set()
    for thread in threads:
        thread.join(30)

    order = Order.objects.get(pk=result["order"].pk)
    item = order.items.get()
    assert (item.price_at_purchase, order.total_price) == (Decimal("12.00"), Decimal("24.00"))
    product.refresh_from_db()
    assert product.stock == 3


def test_product_deleted_while_an_order_for_it_commits_is_409(postgres):
    from django.db import transaction

    from conftest import wait_until
    from orders.errors import ProductInUse
    from orders.services import product_delete

    buyer_user = UserFactory()
    product = ProductFactory(stock=5)
    ordered, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def buyer():  # an order_create in flight: item written, product row locked, not committed yet
        try:
            with transaction.atomic():
                order_create(user=buyer_user, lines=[OrderLineIn(product_id=product.pk, quantity=1)])
                ordered.set()
                release.wait(30)
        finally:
            connection.close()

    def admin():
        try:
            product_delete(product=Product.objects.get(pk=product.pk))
        except ProductInUse as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=buyer), threading.Thread(target=admin)]
    threads[0].start()
    ordered.wait(30)
    threads[1].start()
    with connection.cursor() as cursor:  # the admin's DELETE waits on the buyer's row lock

        def admin_waits():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cursor.fetchone()[0] == 1

        wait_until(admin_waits, timeout=30)
    release.set()
    for thread in threads:
        thread.join(30)

    assert "appears in orders" in outcome["error"].message
    assert Product.objects.filter(pk=product.pk).exists()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("failures", [0, 1])
def test_overlapping_deliveries_of_the_shipping_task_call_once(postgres, user, shipping_api, failures):
    """A redelivered message that overlaps the running attempt (or its retry) must not call the API again."""
    server = shipping_api(failures=failures, delay=0.5)
    product = ProductFactory(stock=5)
    order = order_create(user=user, lines=[OrderLineIn(product_id=product.pk, quantity=1)])
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED, shipping_status=ShippingStatus.PENDING)

    results = run_at_once([lambda: order_notify_shipping(order_id=order.pk, final_attempt=False)] * 4)

    assert len(server.requests) == 1
    assert list(ShippingAttempt.objects.filter(order=order).values_list("number", "succeeded")) == [(1, not failures)]
    assert sum(isinstance(r, ShippingAttempt) for r in results) == (0 if failures else 1)
    assert sum(isinstance(r, ShippingApiError) for r in results) == failures
    assert results.count(None) == 3
