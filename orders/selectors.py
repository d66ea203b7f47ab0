"""Reads of the shop, narrowed to what the caller may see."""

import django_filters
from django.db.models import QuerySet

from accounts.models import User
from config.child_rows import child_rows
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
ITEM_FIELDS = ("product_id", "product_name", "quantity", "price_at_purchase")
ATTEMPT_FIELDS = ("number", "attempted_at", "succeeded", "status_code", "error", "duration_ms")


# Orders, each with ``item_list`` (its lines, in the order they were written) and
# ``attempt_list`` (its shipping attempts, first first), read in the orders' own query
# (config.child_rows). Built once: a request only narrows it (filter() copies a
# queryset, never changes it), so the subqueries are not built and resolved anew.
_ORDERS_WITH_LINES = Order.objects.annotate(  # type: ignore[no-redef]  # Order declares them for their readers
    item_list=child_rows(OrderItem, "order", ITEM_FIELDS),
    attempt_list=child_rows(ShippingAttempt, "order", ATTEMPT_FIELDS, order_by=("number",)),
)


def order_list(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first, with their lines."""
    return _ORDERS_WITH_LINES.filter(user=user)


def order_list_all() -> QuerySet[Order]:
    """Every order, newest first, with its lines."""
    return _ORDERS_WITH_LINES.all()


def order_visible(*, user: User, order_id: int) -> bool:
    """Whether the user may see this order (owner or admin); one indexed lookup, no cache."""
    qs = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        qs = qs.filter(user=user)
    return qs.exists()


def order_get(*, order_id: int) -> Order:
    return _ORDERS_WITH_LINES.get(pk=order_id)


def order_events(*, order_id: int) -> QuerySet[OrderEvent]:
    """An order's timeline, oldest first (in the order the events were written)."""
    return OrderEvent.objects.filter(order_id=order_id).order_by("pk").only("type", "created_at", "data")


def order_shipping_pending_count() -> int:
    """Orders whose shipping call is requested and not yet answered."""
    return Order.objects.filter(shipping_status=ShippingStatus.PENDING).count()
