"""JWT authentication whose user lookup is a cache hit, not a query per request,
and API keys (``Authorization: Api-Key <key>``) for automation."""

import re
from typing import Any, cast

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import ApiKey, User
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


API_KEY_KEYWORD = "Api-Key"
# What the library's KeyGenerator makes: an 8-character prefix, a dot, the secret.
API_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{16,128}")


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>`` acts as the key's owner. Only the key's
    SHA-512 is stored (djangorestframework-api-key's hasher: one fast hash, fit for
    a random 190-bit secret, where a password hasher would cost a slow hash on every
    request). A malformed, unknown, revoked or expired key, or an inactive owner,
    is a 401; other kinds of ``Authorization`` are left to the other classes."""

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        scheme, _sep, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != API_KEY_KEYWORD.lower():
            return None
        if not API_KEY_SHAPE.fullmatch(key):
            raise AuthenticationFailed(
                "Malformed API key: send `Authorization: Api-Key <key>`.", code="api_key_malformed"
            )
        try:
            api_key = cast(ApiKey, ApiKey.objects.get_from_key(key))
        except ApiKey.DoesNotExist:
            api_key = None
        if api_key is None or api_key.has_expired:
            raise AuthenticationFailed("Unknown or revoked API key.", code="api_key_invalid")
        if not api_key.user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return API_KEY_KEYWORD


class IsNotApiKey(BasePermission):
    """Keys cannot manage keys: a leaked key must not be able to mint more."""

    message = "API keys cannot manage API keys; log in (JWT or session) to do this."

    def has_permission(self, request, view) -> bool:
        return not isinstance(request.auth, ApiKey)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a key made at `POST /api/auth/api-keys/`.",
        }
