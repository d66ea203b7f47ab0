"""JWT authentication whose user lookup is a cache hit, not a query per request."""

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from accounts.models import User
from accounts.selectors import user_answer, user_for_request

# Tokens whose signature this process has checked, by their exact bytes: the same
# bytes under the same key always verify the same way, so a client's next request
# with its token skips the decoding and the HMAC (most of a token check's cost) but
# not the checks that depend on time or state (expiry, type, blacklist). Bounded by
# emptying it when full: a miss costs one ordinary verification.
VERIFIED_TOKENS_MAX = 2048
_verified_tokens: dict[bytes, tuple[type[Token], dict[str, Any]]] = {}


class CachedUserJWTAuthentication(JWTAuthentication):
    """simplejwt's checks (user exists and is active) on a user read through the
    cache: the same answers as the stock class, without a database round trip
    on most requests (a cached read of an API answer then needs no query at all).
    A token seen before by this process is not decoded again (``_verified_tokens``)."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        known = _verified_tokens.get(raw_token)
        if known is not None:
            token_class, payload = known
            token = token_class.__new__(token_class)
            # simplejwt types ``token`` as a Token; it holds the raw bytes, as its own __init__ stores them.
            token.token = raw_token  # type: ignore[assignment]
            token.current_time, token.payload = aware_utcnow(), dict(payload)
            try:
                token.verify()
                return token
            except TokenError:
                # Expired (or blacklisted) since: the full check gives simplejwt's own answer.
                _verified_tokens.pop(raw_token, None)
        token = super().get_validated_token(raw_token)
        if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
            _verified_tokens.clear()
        _verified_tokens[raw_token] = (type(token), dict(token.payload))
        return token

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
        read = cache.get_many([*user_answer(user_id).keys(), *keys])
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
