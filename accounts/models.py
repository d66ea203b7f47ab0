"""The one user model shared by every product, and its API keys."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager


class User(AbstractUser):
    email = models.EmailField("email address", max_length=254)

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        constraints = [
            # Case-insensitive uniqueness: Ann@x.io and ann@x.io are one address.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email or self.username


class ApiKeyManager(APIKeyManager):
    """The library's manager, with our own integer ids (its own id embeds the hash)."""

    def assign_key(self, obj: AbstractAPIKey) -> str:
        key, prefix, hashed_key = self.key_generator.generate()
        obj.prefix, obj.hashed_key = prefix, hashed_key
        return key

    def get_usable_keys(self) -> models.QuerySet:
        # The owner comes with the key: authenticating is one query.
        return super().get_usable_keys().select_related("user")


class ApiKey(AbstractAPIKey):
    """A user's key for automation (``Authorization: Api-Key <key>``): only its
    SHA-512 is stored, the key is shown once, when it is made."""

    id = models.BigAutoField(primary_key=True)  # type: ignore[assignment]
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")

    objects = ApiKeyManager()  # type: ignore[misc]

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        indexes = [models.Index(fields=["user", "revoked"], name="accounts_apikey_user_live")]
