"""App config: connects the cache-invalidation signals."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.backlog import backlog_gauge_register
        from orders import signals  # noqa: F401  (connects the receivers)
        from orders.selectors import order_shipping_pending_count

        backlog_gauge_register(
            name="orders_shipping_pending",
            documentation="Orders whose shipping call is requested and not yet answered",
            read=order_shipping_pending_count,
        )
