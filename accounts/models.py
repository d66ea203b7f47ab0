"""The one user model shared by every product."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


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
