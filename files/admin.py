from django.contrib import admin

from files.models import File


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "owner", "kind", "size", "status", "processed", "uploaded_at"]
    list_filter = ["status", "kind", "processed"]
    search_fields = ["original_name", "owner__email"]
    readonly_fields = ["file", "thumbnail", "result", "error", "attempts", "processing_started_at", "processed_at"]
