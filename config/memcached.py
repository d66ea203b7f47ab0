"""Django's pymemcache backend with connections kept across requests, and no key
hashing when there is only one server to choose."""

import re

from django.core.cache.backends.memcached import PyMemcacheCache
from pymemcache.client.hash import HashClient
from pymemcache.client.rendezvous import RendezvousHash

# Keys that Django's memcached check accepts for sure: 1 to 250 characters, none of
# them a control character, a space or DEL (``memcache_key_warnings``).
_PLAINLY_VALID_KEY = re.compile(r"[^\x00-\x20\x7f]{1,250}")


class OneServerRendezvousHash(RendezvousHash):
    """pymemcache's default server choice, without hashing the key (in pure Python,
    for every key) when there is one live server or none: the answer is the same."""

    def get_node(self, key):
        if len(self.nodes) <= 1:
            return self.nodes[0] if self.nodes else None
        return super().get_node(key)


class OneServerHashClient(HashClient):
    """pymemcache's client for several servers, whose ``get_many`` sends the keys
    straight to the only server while it is healthy, instead of choosing a server
    for each key and grouping them (a quarter of a four-key read's CPU here). With
    a failing or dead server, or several, it is the stock method."""

    def get_many(self, keys, gets=False, *args, **kwargs):
        if len(self.clients) == 1 and not (self._failed_clients or self._dead_clients or gets or args or kwargs):
            (client,) = self.clients.values()
            return self._safely_run_func(client, client.get_many, {}, list(keys))
        return super().get_many(keys, gets, *args, **kwargs)


class PersistentPyMemcacheCache(PyMemcacheCache):
    """Django closes every cache at the end of each request (``request_finished``),
    which for pymemcache means a new TCP connection on every request. Each thread
    has its own cache object and client (``django.core.cache.caches`` is
    thread-local), so the connection is safe to keep for the thread's life, as
    Django's own pylibmc backend does; a broken one is reconnected by pymemcache."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneServerHashClient
        self._options.setdefault("hasher", OneServerRendezvousHash)

    def close(self, **kwargs) -> None:
        pass

    def validate_key(self, key: str) -> None:
        # One regular expression in C instead of Django's generator of checks (5 us a
        # key here; a cached API answer reads four); anything else gets Django's own
        # check and its error.
        if not _PLAINLY_VALID_KEY.fullmatch(key):
            super().validate_key(key)
