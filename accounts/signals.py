"""Any change to a user outdates its cached copy (``accounts.selectors.user_for_request``)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.selectors import user_cache_name
from config.cache import cache_invalidate


@receiver([post_save, post_delete], sender=User, dispatch_uid="accounts_user_cache")
def user_cache_invalidate(sender, instance: User, **kwargs) -> None:
    cache_invalidate(user_cache_name(instance.pk))
