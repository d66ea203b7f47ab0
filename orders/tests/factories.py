"""Factories for the shop's models."""

from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from orders.models import Category, Order, OrderItem, Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    description = factory.Faker("sentence")
    price = Decimal("10.00")
    stock = 10
    category = Category.ELECTRONICS


class OrderFactory(factory.django.DjangoModelFactory):
    """An order with no lines; use OrderItemFactory or order_create for real ones."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    total_price = Decimal("0.00")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda o: o.product.name)
    quantity = 1
    price_at_purchase = factory.LazyAttribute(lambda o: o.product.price)
