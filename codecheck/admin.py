"""Admin views of code files and checks."""

from django.contrib import admin

from codecheck.models import Check, CodeFile, Finding


@admin.register(CodeFile)
class CodeFileAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "status", "version", "uploaded_at", "deleted_at"]
    list_filter = ["status"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__email"]


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ["file", "owner", "version", "passed", "findings_count", "email_sent", "email_sent_at", "created_at"]
    list_filter = ["passed", "email_sent"]
    # The owner column reads file -> owner: joined, not a query per row.
    list_select_related = ["file__owner"]
    search_fields = ["file__name", "file__owner__email"]
    inlines = [FindingInline]

    @admin.display(description="owner", ordering="file__owner__email")
    def owner(self, check: Check):
        return check.file.owner
