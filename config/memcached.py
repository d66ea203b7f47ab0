"""Django's pymemcache backend with connections kept across requests."""

from django.core.cache.backends.memcached import PyMemcacheCache


class PersistentPyMemcacheCache(PyMemcacheCache):
    """Django closes every cache at the end of each request (``request_finished``;
    Django ticket #11331), which for pymemcache means a new TCP connection on every
    request. Each thread has its own cache object and client
    (``django.core.cache.caches`` is thread-local), so the connection is safe to
    keep for the thread's life, as Django's own pylibmc backend does; a broken one
    is reconnected by pymemcache."""

    def close(self, **kwargs) -> None:
        pass
