"""The order answer built directly renders byte-for-byte what DRF's generic walk renders."""

from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from orders.api.serializers import OrderOutputSerializer
from orders.models import Order, OrderItem, ShippingAttempt
from orders.selectors import order_list_all
from orders.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


class _Item(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["product", "product_name", "quantity", "price_at_purchase", "line_total"]


class _Attempt(serializers.ModelSerializer):
    class Meta:
        model = ShippingAttempt
        fields = ["number", "attempted_at", "succeeded", "status_code", "error", "duration_ms"]


class GenericOrderSerializer(serializers.ModelSerializer):
    """The oracle: the same shape through DRF's own field walk, nothing hand-built."""

    number = serializers.CharField(read_only=True)
    items = _Item(many=True, read_only=True)
    receipt_ready = serializers.SerializerMethodField()
    shipping_attempts = _Attempt(many=True, read_only=True)

    class Meta:
        model = Order
        fields = OrderOutputSerializer.Meta.fields

    def get_receipt_ready(self, order: Order) -> bool:
        return bool(order.receipt)


def test_orders_render_as_drfs_generic_serializer():
    plain = OrderFactory(total_price=Decimal("0.00"))
    full = OrderFactory(
        total_price=Decimal("12345678.5"),
        status="shipped",
        receipt="orders/receipts/r.pdf",
        shipping_status="failed",
        shipping_error="timeout ü",
        shipping_updated_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    for quantity, price in ((1, Decimal("0.01")), (3, Decimal("99999999.99"))):
        OrderItemFactory(order=full, product=ProductFactory(price=price), quantity=quantity)
    ShippingAttempt.objects.create(order=full, number=1, succeeded=False, status_code=None, error="refused")
    ShippingAttempt.objects.create(order=full, number=2, succeeded=True, status_code=201, duration_ms=12)
    orders = list(order_list_all().order_by("pk"))
    assert [o.pk for o in orders] == [plain.pk, full.pk]

    ours = JSONRenderer().render(OrderOutputSerializer(orders, many=True).data)
    oracle = JSONRenderer().render(GenericOrderSerializer(orders, many=True).data)

    assert ours == oracle
    assert b'"price_at_purchase":"99999999.99"' in ours
    assert b'"status_code":null' in ours


@pytest.mark.parametrize("orders", [1, 5])
def test_order_list_queries_do_not_grow_with_the_page(auth_client, user, orders, django_assert_num_queries):
    for _ in range(orders):
        order = OrderFactory(user=user)
        OrderItemFactory(order=order)
        OrderItemFactory(order=order)
        ShippingAttempt.objects.create(order=order, number=1)
    auth_client.get(reverse("orders-api:order-list"))  # the JWT's user is cached from here on

    # The page with its total, its lines and its shipping attempts.
    with django_assert_num_queries(1):
        response = auth_client.get(reverse("orders-api:order-list"))

    assert response.status_code == HTTPStatus.OK
    assert [len(o["items"]) + len(o["shipping_attempts"]) for o in response.json()["results"]] == [3] * orders
