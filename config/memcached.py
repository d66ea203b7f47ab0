"""Django's pymemcache backend with connections kept across requests, and timed when
metrics are on."""

import time
from collections.abc import Callable

from django.core.cache.backends.memcached import PyMemcacheCache

# config.metrics.cache_observer when metrics are on (set by PlatformConfig.ready):
# (operation, seconds, keys found, keys missed).
observer: Callable[[str, float, int, int], None] | None = None


def _timed(operation: str):
    plain = getattr(PyMemcacheCache, operation)

    def method(self, *args, **kwargs):
        if observer is None:
            return plain(self, *args, **kwargs)
        start = time.perf_counter()
        result = plain(self, *args, **kwargs)
        seconds = time.perf_counter() - start
        if operation == "get":
            found = 0 if result is kwargs.get("default", args[1] if len(args) > 1 else None) else 1
            observer(operation, seconds, found, 1 - found)
        elif operation == "get_many":
            observer(operation, seconds, len(result), len(args[0]) - len(result))
        else:
            observer(operation, seconds, 0, 0)
        return result

    method.__name__ = method.__qualname__ = operation
    method.__doc__ = plain.__doc__
    return method


class PersistentPyMemcacheCache(PyMemcacheCache):
    """Django closes every cache at the end of each request (``request_finished``;
    Django ticket #11331), which for pymemcache means a new TCP connection on every
    request. Each thread has its own cache object and client
    (``django.core.cache.caches`` is thread-local), so the connection is safe to
    keep for the thread's life, as Django's own pylibmc backend does; a broken one
    is reconnected by pymemcache.

    Each call of Django's cache API below is one memcached round trip, timed when
    ``observer`` is set (one check of a module global otherwise)."""

    get = _timed("get")
    get_many = _timed("get_many")
    set = _timed("set")
    set_many = _timed("set_many")
    add = _timed("add")
    delete = _timed("delete")
    delete_many = _timed("delete_many")
    incr = _timed("incr")
    touch = _timed("touch")

    def close(self, **kwargs) -> None:
        pass
