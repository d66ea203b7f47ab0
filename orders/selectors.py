"""Reads of the shop, narrowed to what the caller may see."""

import django_filters
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from config.filters import IntegerFilter, StrictFilterSet
from orders.models import Category, Order, OrderEvent, OrderItem, OrderStatus, Product, ShippingAttempt, ShippingStatus


class ProductFilter(StrictFilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)
    ordering = django_filters.OrderingFilter(fields=("name", "price", "stock", "created_at", "id"))

    class Meta:
        model = Product
        fields = ["category", "min_price", "max_price", "search"]


class AdminOrderFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    user = IntegerFilter(field_name="user_id", min_value=1)

    class Meta:
        model = Order
        fields = ["status", "user"]


def product_list() -> QuerySet[Product]:
    return Product.objects.order_by("pk")


def _order_qs() -> QuerySet[Order]:
    """Orders with their lines and shipping attempts as plain lists (``item_list``,
    ``attempt_list``): the prefetch into ``items`` and ``shipping_attempts`` would build
    two querysets per order, most of the CPU of a list of 20 (docs/benchmarks.md)."""
    # The model declares these attributes for its readers; django-stubs sees them declared twice.
    return Order.objects.prefetch_related(  # type: ignore[no-redef]
        Prefetch("items", queryset=OrderItem.objects.order_by("pk"), to_attr="item_list"),
        Prefetch("shipping_attempts", queryset=ShippingAttempt.objects.order_by("number"), to_attr="attempt_list"),
    )


def order_list(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first."""
    return _order_qs().filter(user=user)


def order_list_all() -> QuerySet[Order]:
    return _order_qs().all()


def order_visible(*, user: User, order_id: int) -> bool:
    """Whether the user may see this order (owner or admin); one indexed lookup, no cache."""
    qs = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        qs = qs.filter(user=user)
    return qs.exists()


def order_get(*, order_id: int) -> Order:
    return _order_qs().get(pk=order_id)


def order_events(*, order_id: int) -> QuerySet[OrderEvent]:
    """An order's timeline, oldest first (in the order the events were written)."""
    return OrderEvent.objects.filter(order_id=order_id).order_by("pk").only("type", "created_at", "data")


def order_shipping_pending_count() -> int:
    """Orders whose shipping call is requested and not yet answered."""
    return Order.objects.filter(shipping_status=ShippingStatus.PENDING).count()
