"""The one caching seam: cached GET answers and cached rows, kept true by generations.

The request path of a cached GET (``GET /api/products/``, ``/api/orders/<id>/``,
``/api/deals/``), whose view puts ``CachedGetMixin`` first and names its slot in
``cache_slot(request)``:

1. Fast path, before DRF's request machinery. A GET whose ``Accept`` can only mean
   plain JSON, without ``?format=``, to a view without throttles, with a bearer
   token: the view's own authenticator (one with ``authenticate_reading``, which
   the view supplies; ``config`` imports no app) checks the token and reads the
   user's slot and the answer's slot in one cache round trip. The view's own
   permissions run, and a current answer goes out as the JSON bytes the renderer
   made on the miss that stored it, with the headers DRF would send. Anything
   else (a miss, a bad token, a failed permission) falls through to step 2, which
   gives the same answer or error as it would have.
2. Full path: plain DRF. After authentication, permissions and throttles
   (``initial``), the slot is read; a current answer is served through DRF's
   renderers (the browsable API, ``?format=``). Otherwise the view's plain
   ``get()`` runs, and a 200 answer is stored as JSON bytes under the generation
   read before the view touched the database. ``X-Cache`` says ``hit`` or ``miss``.

Invalidation, the same for every product: a slot belongs to a *name*
(``orders:products``, ``orders:order:7``, ``accounts:user:3``, ``deals:report``)
whose generation number is kept in the cache beside its entries. A change calls
``cache_invalidate(name)``, which bumps the generation once the transaction
commits; entries stored under an older generation never match again. A reader
that loaded old rows while a change was committing stored them under the old
generation, so no stale answer survives a commit. Reads fetch the generation and
the entry in one round trip (``get_many``). With nothing to outdate it, an entry
lives its slot's own lifetime (product list 5 minutes, order detail 1 minute,
others 5 minutes); generations do not expire.

Faults. A bump can be lost: while memcached is down or frozen the client gives up
(``ignore_exc``) and the write is gone, yet memcached may come back with its old
data (a frozen server resumed, a network cut healed). So a bump must be confirmed:
``incr`` answers the new number, or else a new random generation is written and
read back. One that is not confirmed advances the *fault epoch*, a random number
kept in the database (the ``durable`` cache alias, Django's ``DatabaseCache``,
table made by every ``migrate``, ``config/apps.py``), which no cache fault loses and
every process shares. An entry is stored with the epoch and the generation it was
built under, and is current only while both still match. Each process re-reads
the epoch at most every ``CACHE_TRUST_SECONDS`` (default 5; one small query per
process, under a lock), so every entry stops being served at most
``CACHE_TRUST_SECONDS`` after a lost bump was noticed (the write's own timeout,
0.3 s): a deactivated or demoted user is refused, a product list or a deals report
is rebuilt, within that bound. A generation evicted, or gone with a memcached that
restarted empty, is replaced by a new random one that matches no entry. A cache
that is down only costs speed: reads miss, every request takes the database; a
database that cannot be read for the epoch makes every read miss as well.
"""

import json
import logging
import secrets
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.cache import cache, caches
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:
    from rest_framework.views import APIView as _View
else:
    # Importing DRF's views loads the authentication classes, some of which read
    # through this module: the mixin names its base only for the type checker.
    _View = object

CACHE_HEADER = "X-Cache"
JSON_MEDIA_RANGES = {"application/json", "application/*", "*/*"}

logger = logging.getLogger(__name__)
# The cache alias kept in the database (settings.CACHES), where the fault epoch lives.
DURABLE_CACHE = "durable"
FAULT_EPOCH_KEY = "cache:fault-epoch"


def _generation_key(name: str) -> str:
    return f"{name}:gen"


class _FaultEpoch:
    """The fault epoch as this process last read it, re-read once it is
    ``CACHE_TRUST_SECONDS`` old; None while the database cannot be read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: int | None = None
        self._read_at = float("-inf")

    def _fresh(self) -> bool:
        return time.monotonic() - self._read_at < settings.CACHE_TRUST_SECONDS

    def get(self) -> int | None:
        if self._fresh():
            return self._value
        with self._lock:
            if not self._fresh():  # another thread may have read it meanwhile
                try:
                    self._keep(caches[DURABLE_CACHE].get(FAULT_EPOCH_KEY, 0))
                except DatabaseError:
                    # Down, or no table (run `manage.py migrate`): nothing is
                    # trusted, every read misses; read again next time.
                    logger.warning("cache fault epoch unreadable", exc_info=True)
                    return None
            return self._value

    def advance(self) -> None:
        """Record that a bump was lost: every entry stored so far stops matching."""
        value = secrets.randbits(62)
        try:
            caches[DURABLE_CACHE].set(FAULT_EPOCH_KEY, value, None)
        except DatabaseError:
            # The change itself is committed: nothing better to do than say so.
            logger.exception("cache invalidation lost, and the fault epoch could not be recorded")
            return
        with self._lock:
            self._keep(value)

    def forget(self) -> None:
        with self._lock:
            self._read_at = float("-inf")

    def _keep(self, value: int) -> None:
        self._value, self._read_at = value, time.monotonic()


_fault_epoch = _FaultEpoch()


def fault_epoch_forget() -> None:
    """Make this process read the fault epoch again on its next cached read (tests)."""
    _fault_epoch.forget()


class Slot:
    """One cached value of ``name`` (``variant`` tells apart the values one name
    holds, such as one page of a list), kept ``timeout`` seconds at most.
    ``get()`` returns it while current and remembers the generation it read;
    ``set()`` stores a value built after that."""

    def __init__(self, name: str, variant: str = "", *, timeout: int = 300):
        self.generation_key = _generation_key(name)
        self.key = f"{name}:v:{variant}"
        self.timeout = timeout
        self.version: tuple[int, int] | None = None

    def keys(self) -> list[str]:
        return [self.generation_key, self.key]

    def get(self, values: dict[str, Any] | None = None) -> Any | None:
        """The value if current; ``values``: this slot's keys already read (with others, in one round trip)."""
        values = cache.get_many(self.keys()) if values is None else values
        epoch = _fault_epoch.get()
        generation = values.get(self.generation_key)
        if generation is None:
            generation = _generation_create(self.generation_key)
            self.version = None if epoch is None else (epoch, generation)
            return None
        self.version = None if epoch is None else (epoch, generation)
        entry = values.get(self.key)
        if self.version is not None and entry is not None and entry[0] == self.version:
            return entry[1]
        return None

    def set(self, value: Any) -> None:
        # Under the version read before the database was: if a change committed
        # since, this entry is already outdated and is never served.
        if self.version is not None:
            cache.set(self.key, (self.version, value), self.timeout)


def _generation_create(key: str) -> int:
    value = secrets.randbits(62)  # matches no entry ever stored
    # add() keeps a generation another process created meanwhile.
    if not cache.add(key, value, None):
        value = cache.get(key, value)
    return int(value)


def _generation_bump(key: str) -> None:
    try:
        # The new number, or False from pymemcache when the server was skipped or failed.
        bumped = cache.incr(key)
        if type(bumped) is int:
            return
    except ValueError:
        pass  # missing (evicted, or memcached restarted empty), or the cache is failing
    value = secrets.randbits(62)
    cache.set(key, value, None)
    if cache.get(key) != value:
        # The bump is lost, and memcached may come back with its old entries.
        _fault_epoch.advance()


def cache_invalidate(name: str) -> None:
    """Outdate every value cached under ``name`` once the current transaction commits."""
    transaction.on_commit(partial(_generation_bump, _generation_key(name)))


def json_bytes(data: Any) -> bytes:
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


class ReadingAuthenticator(Protocol):
    """An authenticator that reads the request's user and ``keys`` in one cache round
    trip: ``(user, auth, values read)``, None without credentials of its kind, an
    ``APIException`` for bad ones."""

    def authenticate_reading(self, request: HttpRequest, keys: list[str]) -> tuple[Any, Any, dict[str, Any]] | None: ...


class _Hit(Exception):
    def __init__(self, body: bytes):
        self.body = body


class CachedGetMixin(_View):
    """Put first in an API view's bases and name the GET answer's slot in
    ``cache_slot(request)`` (None: not cached). The view's ``get()`` stays plain DRF."""

    _slot: Slot | None = None
    _hit = False

    def cache_slot(self, request: Request) -> Slot | None:
        raise NotImplementedError

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        if request.method == "GET":
            self.args, self.kwargs = args, kwargs  # what DRF's dispatch sets first, for cache_slot
            response = self._fast_hit(request)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def _fast_hit(self, request: HttpRequest) -> HttpResponse | None:
        if "format" in request.GET or not accepts_json_only(request) or self.get_throttles():
            return None
        # hasattr, not isinstance of the runtime-checkable protocol: that walks its members.
        found = next((a for a in self.get_authenticators() if hasattr(a, "authenticate_reading")), None)
        if found is None:
            return None
        authenticator = cast(ReadingAuthenticator, found)
        api_request = Request(request)
        slot = self.cache_slot(api_request)
        if slot is None:
            return None
        try:
            authenticated = authenticator.authenticate_reading(request, slot.keys())
            if authenticated is None:
                return None  # no bearer token: sessions take the full path
            api_request.user, api_request.auth, read = authenticated
            if not all(permission.has_permission(api_request, self) for permission in self.get_permissions()):
                return None
        except Exception:
            return None  # the full path gives the same 401, 403, 404 or error itself
        body = slot.get(read)
        if body is None:
            return None
        return HttpResponse(
            body, content_type="application/json", headers={**self.default_response_headers, CACHE_HEADER: "hit"}
        )

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "GET":
            self._slot = self.cache_slot(request)
            body = None if self._slot is None else self._slot.get()
            if body is not None:
                raise _Hit(body)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Hit):
            self._hit = True
            return Response(json.loads(exc.body))
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._slot is not None and response.status_code == 200:
            if not self._hit:
                self._slot.set(json_bytes(response.data))
            response[CACHE_HEADER] = "hit" if self._hit else "miss"
        return response
