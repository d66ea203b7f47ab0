from decimal import Decimal

import pytest
from django.db import IntegrityError

from orders.models import Order, Product
from orders.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_stock_cannot_go_negative_in_the_database():
    product = ProductFactory(stock=1)

    with pytest.raises(IntegrityError):
        Product.objects.filter(pk=product.pk).update(stock=-1)


def test_price_must_be_positive_in_the_database():
    with pytest.raises(IntegrityError):
        ProductFactory(price=Decimal("0.00"))


def test_order_item_quantity_must_be_positive_in_the_database():
    with pytest.raises(IntegrityError):
        OrderItemFactory(quantity=0)


def test_order_products_go_through_order_items():
    item = OrderItemFactory(quantity=3, price_at_purchase=Decimal("2.50"))

    order = Order.objects.get(pk=item.order_id)

    assert list(order.products.all()) == [item.product]
    assert (item.line_total, str(item)) == (Decimal("7.50"), f"3 x {item.product.name}")


def test_order_number_and_str():
    order = OrderFactory()

    assert order.number == f"ORD-{order.pk:08d}" == str(order)


def test_product_str_is_its_name():
    assert str(ProductFactory(name="Lamp")) == "Lamp"
