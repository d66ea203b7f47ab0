"""Shop models: products with stock that cannot go negative, orders and their lines."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Category(models.TextChoices):
    ELECTRONICS = "electronics", "Electronics"
    CLOTHING = "clothing", "Clothing"
    BOOKS = "books", "Books"
    HOME = "home", "Home"
    SPORTS = "sports", "Sports"
    TOYS = "toys", "Toys"
    OTHER = "other", "Other"


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    # Big: an admin may set a large stock and cancellations then add returned items on top.
    stock = models.PositiveBigIntegerField(default=0)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            # The last line of defence against overselling: the database refuses it.
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="orders_product_stock_gte_0"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="orders_product_price_gt_0"),
        ]
        indexes = [models.Index(fields=["category", "price"]), models.Index(fields=["price"])]

    def __str__(self) -> str:
        return self.name


def product_qs_for_update() -> models.QuerySet[Product]:
    """Products locked in primary-key order, so two orders never wait on each other in a cycle."""
    return Product.objects.order_by("pk").select_for_update(of=("self",))


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class ShippingStatus(models.TextChoices):
    NOT_REQUESTED = "not_requested", "Not requested"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Order(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    products = models.ManyToManyField(Product, through="OrderItem", related_name="orders")
    # Room for the largest order the API accepts: 100 lines x 10,000 x 99,999,999.99.
    total_price = models.DecimalField(max_digits=18, decimal_places=2)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    receipt = models.FileField(upload_to="orders/receipts/", blank=True)
    receipt_generated_at = models.DateTimeField(null=True, blank=True)
    shipping_status = models.CharField(
        max_length=20, choices=ShippingStatus.choices, default=ShippingStatus.NOT_REQUESTED
    )
    # Last time the shipping call was requested or attempted; the sweeper re-drives idle ones.
    shipping_updated_at = models.DateTimeField(null=True, blank=True)
    shipping_error = models.TextField(blank=True)
    # Annotated by orders.selectors: rows of its ITEM_FIELDS and ATTEMPT_FIELDS.
    item_list: list[dict[str, Any]]
    attempt_list: list[dict[str, Any]]

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(total_price__gte=0), name="orders_order_total_gte_0")]
        indexes = [models.Index(fields=["user", "-created_at"]), models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"ORD-{self.pk:08d}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    # PROTECT: an order's history must keep its product; set stock to 0 to stop selling it.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    # The name at the time of purchase, so receipts and old orders do not change when a product is renamed.
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price_at_purchase = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orders_item_unique_product"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orders_item_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"

    @property
    def line_total(self) -> Decimal:
        return self.price_at_purchase * self.quantity


class OrderEmail(models.Model):
    """A confirmation email: recorded first, then sent; ``sent_at`` says it went out."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Order confirmation"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CONFIRMATION)
    recipient = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["order", "kind"], name="orders_email_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient}"


class ShippingAttempt(models.Model):
    """One call to the shipping API: claimed (row written) before the call, its outcome written after."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipping_attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    # Null while the call is in flight: another delivery of the task must not call too.
    finished_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="orders_shipping_attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} for order {self.order_id}"


class OrderEventType(models.TextChoices):
    CREATED = "created", "Created"
    RECEIPT_GENERATED = "receipt_generated", "Receipt generated"
    EMAIL_SENT = "email_sent", "Email sent"
    STATUS_CHANGED = "status_changed", "Status changed"
    SHIPPING_ATTEMPT = "shipping_attempt", "Shipping attempt"


class OrderEvent(models.Model):
    """One entry of an order's history, written by the service that makes the
    change, in the transaction of that change: it exists if and only if the
    change was committed."""

    # No index of its own: the (order, id) index below serves the foreign key and the timeline.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=30, choices=OrderEventType.choices)
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["order", "pk"]
        indexes = [models.Index(fields=["order", "id"], name="orders_event_order_id")]

    def __str__(self) -> str:
        return f"{self.type} of order {self.order_id}"
