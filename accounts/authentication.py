"""JWT authentication whose user lookup is a cache hit, not a query per request."""

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_for_request, user_slot


class CachedUserJWTAuthentication(JWTAuthentication):
    """simplejwt's checks (user exists and is active) on a user read through the
    cache: the same answers as the stock class, without a database round trip
    on most requests (a cached read of an API answer then needs no query at all).
    It reads the answer's cache keys with the user (``config.cache.ReadingAuthenticator``)."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # simplejwt types it as a TypeVar
        user_id = _user_id(validated_token)
        return _user_checked(user_for_request(user_id=user_id), validated_token)

    def authenticate_reading(self, request: HttpRequest, keys: list[str]) -> tuple[User, Token, dict[str, Any]] | None:
        """``authenticate()`` that reads ``keys`` from the cache in the same round trip
        as the user, and returns what it read with the user and the token."""
        header = self.get_header(request)  # type: ignore[arg-type]  # reads only META
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        user_id = _user_id(token)
        read = cache.get_many([*user_slot(user_id).keys(), *keys])
        return _user_checked(user_for_request(user_id=user_id, read=read), token), token, read


def _user_id(token: Token) -> int:
    try:
        return int(token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken(_("Token contained no recognizable user identification")) from exc


def _user_checked(user: User | None, token: Token) -> User:
    if user is None:
        raise AuthenticationFailed(_("User not found"), code="user_not_found")
    if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
        raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
    if api_settings.CHECK_REVOKE_TOKEN and token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
    return user


class CachedUserJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class is simplejwt's own (``jwtAuth``)."""

    target_class = "accounts.authentication.CachedUserJWTAuthentication"
