"""Django admin for the shop; saves and deletes here invalidate the cache through signals."""

from django.contrib import admin

from orders.models import Order, OrderEmail, OrderItem, Product, ShippingAttempt


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "category", "price", "stock", "updated_at"]
    list_filter = ["category"]
    search_fields = ["name"]
    list_editable = ["stock"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = ["product", "product_name", "quantity", "price_at_purchase"]
    can_delete = False


class ShippingAttemptInline(admin.TabularInline):
    model = ShippingAttempt
    extra = 0
    readonly_fields = ["number", "attempted_at", "succeeded", "status_code", "error", "duration_ms"]
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "status", "total_price", "shipping_status", "created_at"]
    list_filter = ["status", "shipping_status"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "total_price", "receipt", "receipt_generated_at", "shipping_updated_at"]
    inlines = [OrderItemInline, ShippingAttemptInline]


@admin.register(OrderEmail)
class OrderEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "kind", "recipient", "created_at", "sent_at"]
    readonly_fields = ["order", "kind", "recipient", "subject", "body", "created_at", "sent_at"]
