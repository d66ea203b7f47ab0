"""JWT authentication whose user lookup is a cache hit, not a query per request."""

from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_for_request


class CachedUserJWTAuthentication(JWTAuthentication):
    """simplejwt's checks (user exists and is active) on a user read through the
    cache: the same answers as the stock class, without a database round trip
    on most requests (a cached read of an API answer then needs no query at all)."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # simplejwt types it as a TypeVar
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = user_for_request(user_id=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class CachedUserJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class is simplejwt's own (``jwtAuth``)."""

    target_class = "accounts.authentication.CachedUserJWTAuthentication"
