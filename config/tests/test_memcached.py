"""The memcached backend keeps its connection across requests and survives a memcached restart."""

import shutil
import subprocess
import time
import uuid

import pytest
from django.core.cache import caches
from django.core.signals import request_finished

from conftest import REQUIRE_SERVICES, free_port

OPTIONS = {"ignore_exc": True, "connect_timeout": 0.3, "timeout": 0.3, "retry_attempts": 1, "dead_timeout": 0.2}


def _start_memcached(port: int) -> subprocess.Popen:
    binary = shutil.which("memcached")
    if binary is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the memcached binary is not installed")
        pytest.skip("memcached binary not installed")
    process = subprocess.Popen([binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "root"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        probe = subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], capture_output=True)
        if probe.returncode == 0:
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("memcached did not start")


@pytest.fixture
def private_memcached(settings):
    port = free_port()
    process = _start_memcached(port)
    settings.CACHES = {
        "default": {
            "BACKEND": "config.memcached.PersistentPyMemcacheCache",
            "LOCATION": f"127.0.0.1:{port}",
            "KEY_PREFIX": uuid.uuid4().hex,
            "OPTIONS": OPTIONS,
        }
    }
    holder = {"process": process, "port": port}
    yield holder
    holder["process"].kill()
    holder["process"].wait()


def _sockets(cache) -> list:
    return [client.sock for client in cache._cache.clients.values()]


def test_the_connection_outlives_the_request(private_memcached):
    cache = caches["default"]
    cache.set("k", 1)
    before = _sockets(cache)
    assert all(sock is not None for sock in before)

    request_finished.send(sender=None)  # what Django sends after every response

    assert _sockets(cache) == before
    assert cache.get("k") == 1
    assert _sockets(cache) == before


def test_a_restarted_memcached_is_reconnected(private_memcached):
    cache = caches["default"]
    cache.set("k", 1)
    private_memcached["process"].kill()
    private_memcached["process"].wait()

    assert cache.get("k") is None  # down: a miss, not an error

    private_memcached["process"] = _start_memcached(private_memcached["port"])
    time.sleep(OPTIONS["dead_timeout"] + 0.1)  # the client retries a dead server after this
    deadline = time.monotonic() + 5
    while not cache.set("k", 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get("k") == 2


def test_a_read_of_several_keys_survives_a_memcached_restart(private_memcached):
    cache = caches["default"]
    cache.set_many({"a": 1, "b": (2, b"two")})
    assert cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": (2, b"two")}

    private_memcached["process"].kill()
    private_memcached["process"].wait()
    assert cache.get_many(["a", "b"]) == {}  # down: misses, not an error
    assert cache.get_many(["a", "b"]) == {}  # failing, then marked dead: still misses

    private_memcached["process"] = _start_memcached(private_memcached["port"])
    time.sleep(OPTIONS["dead_timeout"] + 0.1)
    deadline = time.monotonic() + 5
    while cache.set_many({"a": 3, "b": 4}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cache.get_many(["a", "b"]) == {"a": 3, "b": 4}
