"""Admin: the data sets, read-only (a data set changes only by an upload)."""

from django.contrib import admin

from deals.models import DealSet


@admin.register(DealSet)
class DealSetAdmin(admin.ModelAdmin):
    list_display = ["id", "is_current", "rows", "original_name", "uploaded_by", "created_at"]
    readonly_fields = ["token", "is_current", "rows", "original_name", "uploaded_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
