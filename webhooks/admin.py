"""Admin: endpoints (without their secret) and the delivery log, read-only."""

from django.contrib import admin

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "url", "active", "created_at"]
    list_filter = ["active"]
    exclude = ["secret"]
    raw_id_fields = ["owner"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]
    raw_id_fields = ["event", "endpoint"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "number", "status_code", "error", "duration_ms", "attempted_at"]
    raw_id_fields = ["delivery", "endpoint", "event"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
