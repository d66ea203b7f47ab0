"""Input and output serializers of the shop API."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.fields import TextField
from config.representation import DATETIME, MONEY, rendered
from orders.models import Category, Order, OrderEvent, OrderItem, OrderStatus, Product, ShippingAttempt
from orders.selectors import ATTEMPT_FIELDS, ITEM_FIELDS
from orders.services import OrderLineIn, minimum_total_message, order_lines_merge

MAX_LINES = 100
MAX_QUANTITY = 10_000


class ProductOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "description", "price", "stock", "category", "created_at", "updated_at"]


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        # 0.01 to 99999999.99, at most two decimals (leading zeros do not count).
        "pattern": r"^0*(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|0?\.(?:[1-9][0-9]?|0[1-9]))$",
        "example": "19.99",
    }
)
class PriceField(serializers.DecimalField):
    """A price as a decimal string, 0.01 to 99999999.99."""

    default_error_messages = {"invalid": 'Give the price as a string such as "19.99".'}

    def __init__(self, **kwargs):
        super().__init__(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ProductInputSerializer(serializers.Serializer):
    # Trims whitespace and refuses blank values, NUL characters and non-strings.
    name = TextField(max_length=200)
    description = TextField(allow_blank=True, required=False, default="")
    price = PriceField()
    stock = serializers.IntegerField(min_value=0, max_value=2_147_483_647)
    category = serializers.ChoiceField(choices=Category.choices)


class OrderLineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderCreateInputSerializer(serializers.Serializer):
    # ListSerializer takes max_length (DRF 3.14+); the stubs do not know it yet.
    items = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)  # type: ignore[call-arg]

    def validate_items(self, value: list[dict]) -> list[OrderLineIn]:
        """Products exist, duplicate lines merged, the minimum total met (at current prices;
        the service checks again under the row locks)."""
        wanted = order_lines_merge([OrderLineIn(product_id=v["product"], quantity=v["quantity"]) for v in value])
        prices = dict(Product.objects.filter(pk__in=list(wanted)).values_list("pk", "price"))
        missing = [pk for pk in wanted if pk not in prices]
        if missing:
            raise serializers.ValidationError([f"Product {pk} does not exist." for pk in missing])
        total = sum((prices[pk] * quantity for pk, quantity in wanted.items()), Decimal("0.00"))
        if total < settings.ORDERS_MIN_TOTAL:
            raise serializers.ValidationError(minimum_total_message(total))
        return [OrderLineIn(product_id=pk, quantity=quantity) for pk, quantity in wanted.items()]


class OrderStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)


class OrderItemOutputSerializer(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["product", "product_name", "quantity", "price_at_purchase", "line_total"]

    def to_representation(self, instance: OrderItem) -> dict:
        # The declared fields give the schema; this builds the same dict (config/representation.py).
        return item_representation({f: getattr(instance, f) for f in ITEM_FIELDS})


def item_representation(item: dict[str, Any]) -> dict:
    """A line's answer from its row (``orders.selectors.ITEM_FIELDS``)."""
    return {
        "product": item["product_id"],
        "product_name": item["product_name"],
        "quantity": item["quantity"],
        "price_at_purchase": rendered(MONEY, item["price_at_purchase"]),
        "line_total": rendered(MONEY, item["price_at_purchase"] * item["quantity"]),
    }


class ShippingAttemptOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShippingAttempt
        fields = ["number", "attempted_at", "succeeded", "status_code", "error", "duration_ms"]

    def to_representation(self, instance: ShippingAttempt) -> dict:
        return attempt_representation({f: getattr(instance, f) for f in ATTEMPT_FIELDS})


def attempt_representation(attempt: dict[str, Any]) -> dict:
    """A shipping attempt's answer from its row (``orders.selectors.ATTEMPT_FIELDS``)."""
    return {
        "number": attempt["number"],
        "attempted_at": rendered(DATETIME, attempt["attempted_at"]),
        "succeeded": attempt["succeeded"],
        "status_code": attempt["status_code"],
        "error": attempt["error"],
        "duration_ms": attempt["duration_ms"],
    }


class OrderOutputSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    items = OrderItemOutputSerializer(many=True, read_only=True)
    receipt_ready = serializers.SerializerMethodField()
    shipping_attempts = ShippingAttemptOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "user",
            "status",
            "total_price",
            "items",
            "created_at",
            "updated_at",
            "receipt_ready",
            "shipping_status",
            "shipping_error",
            "shipping_attempts",
        ]

    def get_receipt_ready(self, order: Order) -> bool:
        return bool(order.receipt)

    def to_representation(self, instance: Order) -> dict:
        # The declared fields give the schema; this builds the same dict (config/representation.py).
        return {
            "id": instance.pk,
            "number": instance.number,
            "user": instance.user_id,
            "status": instance.status,
            "total_price": rendered(MONEY, instance.total_price),
            "items": [item_representation(item) for item in instance.item_list],
            "created_at": rendered(DATETIME, instance.created_at),
            "updated_at": rendered(DATETIME, instance.updated_at),
            "receipt_ready": self.get_receipt_ready(instance),
            "shipping_status": instance.shipping_status,
            "shipping_error": instance.shipping_error,
            "shipping_attempts": [attempt_representation(a) for a in instance.attempt_list],
        }


class OrderEventOutputSerializer(serializers.ModelSerializer):
    # A declared field, so the schema says "object"; DRF keeps declared fields off the class, so
    # the serializer's own ``.data`` is not shadowed (the stubs cannot know that).
    data = serializers.DictField(  # type: ignore[assignment]
        help_text=(
            "By type: `created` {total_price, items: [{product, product_name, quantity, price_at_purchase}]}; "
            "`receipt_generated` {}; `email_sent` {kind, recipient}; `status_changed` {from, to, by: the "
            "acting user's id, null for the system}; `shipping_attempt` {number (from 1), outcome: succeeded, "
            "failed or abandoned, status_code (null without an answer), error}."
        )
    )

    class Meta:
        model = OrderEvent
        fields = ["type", "created_at", "data"]
