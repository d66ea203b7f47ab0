from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from accounts.models import ApiKey, User

admin.site.register(User, UserAdmin)
# The library's own key model is unused (keys here belong to a user): one "API keys" page.
admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "user")  # type: ignore[assignment]  # one more column
    raw_id_fields = ("user",)
