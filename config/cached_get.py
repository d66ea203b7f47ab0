"""Cached GET answers served as stored JSON bytes, before DRF's request machinery.

A view whose GET answer is cached (the same bytes for everyone allowed to see
it) answers an API client's cache hit with the view's own JWT authentication,
whose cache read of the user also reads the answer (one round trip), and the
view's own permission checks. Content negotiation, parsing, throttling and
rendering are skipped because they cannot change the answer: the client accepts JSON, the view has no throttles, and the
bytes are what the JSON renderer made on the miss that filled the cache.
Anything else (a miss, a session or anonymous request, a browser asking for
HTML, ``?format=``, a bad token) takes the normal path, which answers as before.
"""

from typing import Any, Protocol

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.authentication import CachedUserJWTAuthentication

JSON_MEDIA_RANGES = {"application/json", "application/*", "*/*"}
CACHE_HEADER = "X-Cache"


def cache_header(hit: bool) -> dict[str, str]:
    return {CACHE_HEADER: "hit" if hit else "miss"}


def json_bytes(data) -> bytes:
    """What DRF's JSON renderer sends for ``data``: the form a cached answer is kept in."""
    return JSONRenderer().render(data)


def accepts_json_only(request: HttpRequest) -> bool:
    """True when content negotiation can only pick plain JSON: no Accept header, or one
    whose every media range is JSON or a wildcard (a browser's text/html is not),
    with no parameter but ``q`` (``indent=4`` would change the rendering)."""
    # META, not request.headers: that builds a dict of every header to read one.
    for media_range in request.META.get("HTTP_ACCEPT", "").split(","):
        media_type, *params = (piece.strip().lower() for piece in media_range.split(";"))
        if not media_type and not params:
            continue
        if media_type not in JSON_MEDIA_RANGES or any(not param.startswith("q=") for param in params):
            return False
    return True


class CachedRead(Protocol):
    """A cached answer read in two steps, so its keys can share a round trip with the user's."""

    def keys(self) -> list[str]: ...

    def get(self, values: dict[str, Any] | None = None) -> Any | None: ...


class CachedGetMixin(APIView):
    """Put first in an API view's bases and implement ``cached_get_answer(request)``:
    the cache slot of this GET's answer (stored JSON bytes), or None for no slot.
    The view's full ``get()`` fills the slot on a miss."""

    def cached_get_answer(self, request: Request) -> CachedRead | None:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        if request.method == "GET":
            response = self._cached_hit(request)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def _cached_hit(self, request: HttpRequest) -> HttpResponse | None:
        if "format" in request.GET or not accepts_json_only(request) or self.get_throttles():
            return None
        authenticator = next((a for a in self.get_authenticators() if isinstance(a, CachedUserJWTAuthentication)), None)
        if authenticator is None:
            return None
        api_request = Request(request)
        answer = self.cached_get_answer(api_request)
        if answer is None:
            return None
        try:
            authenticated = authenticator.authenticate_reading(request, answer.keys())
        except APIException:
            return None  # a bad token: the full path gives the 401
        if authenticated is None:
            return None  # no bearer token: sessions take the full path
        api_request.user, api_request.auth, read = authenticated
        if not all(permission.has_permission(api_request, self) for permission in self.get_permissions()):
            return None
        body = answer.get(read)
        if body is None:
            return None
        return HttpResponse(
            body, content_type="application/json", headers={**self.default_response_headers, **cache_header(True)}
        )
