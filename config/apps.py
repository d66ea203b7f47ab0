"""The platform's own app: what the shared seams need from the database at migrate time."""

from django.apps import AppConfig
from django.conf import settings
from django.core.management import call_command
from django.db.models.signals import post_migrate

from config.tracing import tracing_setup


def durable_cache_table_create(*, using: str = "default", **kwargs) -> None:
    """The database cache tables of ``CACHES`` (``durable``: the fault epoch of
    ``config.cache``), made by every ``migrate`` so no deployment step can miss
    them; ``createcachetable`` leaves an existing table alone."""
    call_command("createcachetable", database=using, verbosity=0)


class PlatformConfig(AppConfig):
    name = "config"
    label = "platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        post_migrate.connect(durable_cache_table_create, sender=self, dispatch_uid="platform-durable-cache-table")
        # Before any middleware is loaded or connection opened (docs/operations.md, "Traces").
        tracing_setup()
        if settings.METRICS_TOKEN:
            from config import memcached
            from config.metrics import cache_observer, task_signals_connect

            task_signals_connect()
            memcached.observer = cache_observer
