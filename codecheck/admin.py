"""Admin views of code files and checks."""

from django.contrib import admin

from codecheck.models import Check, CodeFile, Finding


@admin.register(CodeFile)
class CodeFileAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "status", "version", "uploaded_at", "deleted_at"]
    list_filter = ["status"]
    search_fields = ["name", "owner__email"]


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ["file", "version", "passed", "findings_count", "email_sent", "email_sent_at", "created_at"]
    list_filter = ["passed", "email_sent"]
    inlines = [FindingInline]
