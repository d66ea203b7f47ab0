"""Reads of the shop, narrowed to what the caller may see."""

import django_filters
from django.db.models import QuerySet

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


# The columns of a line and of a shipping attempt that an order's answer shows.
ITEM_FIELDS = ("order_id", "product_id", "product_name", "quantity", "price_at_purchase")
ATTEMPT_FIELDS = ("order_id", "number", "attempted_at", "succeeded", "status_code", "error", "duration_ms")
# Built once: each page only adds its orders to them (a queryset is copied, never changed, by filter()).
_ITEM_ROWS = OrderItem.objects.order_by("pk").values(*ITEM_FIELDS)
_ATTEMPT_ROWS = ShippingAttempt.objects.order_by("number").values(*ATTEMPT_FIELDS)


def with_lines(orders: list[Order]) -> list[Order]:
    """``orders``, each with ``item_list`` (its lines) and ``attempt_list`` (its shipping
    attempts) as lists of dicts of ``ITEM_FIELDS`` and ``ATTEMPT_FIELDS``: one query per
    relation for all the orders, rows grouped here. A prefetch would build a model
    instance and its bookkeeping per row, most of the CPU of a page (docs/benchmarks.md)."""
    by_id: dict[int, Order] = {}
    for order in orders:
        order.item_list, order.attempt_list = [], []
        by_id[order.pk] = order
    if by_id:
        for item in _ITEM_ROWS.filter(order_id__in=by_id):
            by_id[item["order_id"]].item_list.append(item)
        for attempt in _ATTEMPT_ROWS.filter(order_id__in=by_id):
            by_id[attempt["order_id"]].attempt_list.append(attempt)
    return orders


def order_list(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first; ``with_lines`` reads the lines of a page."""
    return Order.objects.filter(user=user)


def order_list_all() -> QuerySet[Order]:
    return Order.objects.all()


def order_visible(*, user: User, order_id: int) -> bool:
    """Whether the user may see this order (owner or admin); one indexed lookup, no cache."""
    qs = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        qs = qs.filter(user=user)
    return qs.exists()


def order_get(*, order_id: int) -> Order:
    return with_lines([Order.objects.get(pk=order_id)])[0]


def order_events(*, order_id: int) -> QuerySet[OrderEvent]:
    """An order's timeline, oldest first (in the order the events were written)."""
    return OrderEvent.objects.filter(order_id=order_id).order_by("pk").only("type", "created_at", "data")


def order_shipping_pending_count() -> int:
    """Orders whose shipping call is requested and not yet answered."""
    return Order.objects.filter(shipping_status=ShippingStatus.PENDING).count()
