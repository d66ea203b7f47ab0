"""Celery entry points of the shop: thin wrappers around services, retried where it helps."""

from celery import shared_task
from django.conf import settings

from orders.errors import ShippingApiError


@shared_task(bind=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def order_receipt_task(self, order_id: int) -> None:
    """PDF receipt and confirmation email of a new order (OSError covers SMTP failures)."""
    from orders.services import order_receipt_generate  # services import this module

    order_receipt_generate(order_id=order_id)


@shared_task(
    bind=True,
    autoretry_for=(ShippingApiError,),
    max_retries=3,
    retry_backoff=settings.ORDERS_SHIPPING_RETRY_BACKOFF,
    retry_backoff_max=settings.ORDERS_SHIPPING_RETRY_BACKOFF_MAX,
    retry_jitter=True,
)
def order_notify_shipping_task(self, order_id: int) -> None:
    """Call the shipping API for a shipped order: 1 attempt + up to 3 retries with backoff."""
    from orders.services import order_notify_shipping

    order_notify_shipping(order_id=order_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task
def order_sweep_task() -> dict[str, int]:
    """Beat entry "orders-sweep": re-drive work whose message was lost."""
    from orders.services import order_sweep

    return order_sweep()
