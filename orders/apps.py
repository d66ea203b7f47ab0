"""App config: connects the cache-invalidation signals."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import signals  # noqa: F401  (connects the receivers)
