"""App config: registers the delivery backlog for /metrics."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.backlog import backlog_gauge_register
        from webhooks.selectors import delivery_due_count

        backlog_gauge_register(
            name="webhook_deliveries_due",
            documentation="Webhook deliveries whose next attempt is due and not yet sent",
            read=delivery_due_count,
        )
