"""Cache invalidation: any saved or deleted product, order or order line (API, admin, shell)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from orders.cache import order_detail_invalidate, product_list_invalidate
from orders.models import Order, OrderEmail, OrderItem, Product, ShippingAttempt


@receiver([post_save, post_delete], sender=Product, dispatch_uid="orders_product_changed")
def _product_changed(sender, instance: Product, **kwargs) -> None:
    product_list_invalidate()


@receiver([post_save, post_delete], sender=Order, dispatch_uid="orders_order_changed")
def _order_changed(sender, instance: Order, created: bool = False, **kwargs) -> None:
    if not created:  # a new order has nothing cached yet (ids are never reused)
        order_detail_invalidate(order_id=instance.pk)


@receiver([post_save, post_delete], sender=OrderItem, dispatch_uid="orders_item_changed")
@receiver([post_save, post_delete], sender=OrderEmail, dispatch_uid="orders_email_changed")
@receiver([post_save, post_delete], sender=ShippingAttempt, dispatch_uid="orders_attempt_changed")
def _order_part_changed(sender, instance, **kwargs) -> None:
    order_detail_invalidate(order_id=instance.order_id)
