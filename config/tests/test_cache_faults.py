"""After a cache fault a stale answer is served for at most ``CACHE_TRUST_SECONDS`` (plus
the lost write's timeout): a private memcached is killed and restarted, or frozen
(SIGSTOP/SIGCONT) around the write whose invalidation it loses. Without a fault an
answer outlives that bound."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus

import pytest
from django.core.cache import caches
from django.urls import reverse

from config.cache import DURABLE_CACHE, FAULT_EPOCH_KEY
from config.tests.test_memcached import _start_memcached
from conftest import BASE_DIR, free_port
from orders.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = reverse("orders-api:product-list")
ME = reverse("auth:me")
TRUST = 2
# memcached counts expiry in whole seconds of its own clock.
BOUND = TRUST + 1 + 0.5


@pytest.fixture
def memcached(settings):
    port = free_port()
    holder = {"process": _start_memcached(port), "port": port}
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "config.memcached.PersistentPyMemcacheCache",
            "LOCATION": f"127.0.0.1:{port}",
            "KEY_PREFIX": uuid.uuid4().hex,
            "OPTIONS": settings.MEMCACHED_OPTIONS,  # the production options
        },
    }
    settings.CACHE_TRUST_SECONDS = TRUST
    yield holder
    holder["process"].send_signal(signal.SIGCONT)
    holder["process"].kill()
    holder["process"].wait()


def _frozen_during_the_write(memcached, write: Callable[[], None]) -> None:
    memcached["process"].send_signal(signal.SIGSTOP)
    try:
        write()  # its invalidation after commit times out
    finally:
        memcached["process"].send_signal(signal.SIGCONT)


def _frozen_just_before_the_write(memcached, write: Callable[[], None]) -> None:
    memcached["process"].send_signal(signal.SIGSTOP)
    caches["default"].get("anything")  # times out: the client skips the server for a while
    memcached["process"].send_signal(signal.SIGCONT)
    write()  # its invalidation is never sent, and memcached keeps every old entry


def _killed_and_restarted(memcached, write: Callable[[], None]) -> None:
    memcached["process"].kill()
    memcached["process"].wait()
    write()
    memcached["process"] = _start_memcached(memcached["port"])


FAULTS = [_frozen_during_the_write, _frozen_just_before_the_write, _killed_and_restarted]


def _stale_for(read: Callable[[], bool], committed: float) -> list[float]:
    """Poll ``read`` (True: a stale answer) until the bound has passed with room;
    return when, after the commit, stale answers were served."""
    stale = []
    while (elapsed := time.monotonic() - committed) < BOUND + 2:
        if read():
            stale.append(round(elapsed, 2))
        time.sleep(0.1)
    return stale


def _fill(client, url) -> None:
    client.get(url)
    assert client.get(url)["X-Cache"] == "hit"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_product_change_lost_to_the_cache_is_seen_within_the_bound(memcached, auth_client, fault):
    product = ProductFactory(stock=1)
    _fill(auth_client, PRODUCTS)

    def write():
        product.stock = 4242
        product.save()

    fault(memcached, write)
    committed = time.monotonic()

    def stale() -> bool:
        response = auth_client.get(PRODUCTS)
        assert response.status_code == HTTPStatus.OK
        return response.json()["results"][0]["stock"] != 4242

    stale_at = _stale_for(stale, committed)
    assert not stale_at or max(stale_at) <= BOUND, stale_at
    assert not stale()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_deactivation_lost_to_the_cache_locks_the_user_out_within_the_bound(memcached, user, auth_client, fault):
    _fill(auth_client, PRODUCTS)  # the user's copy is cached with the page

    def write():
        user.is_active = False
        user.save()

    fault(memcached, write)
    committed = time.monotonic()

    def stale() -> bool:
        return auth_client.get(PRODUCTS).status_code != HTTPStatus.UNAUTHORIZED

    stale_at = _stale_for(stale, committed)
    assert not stale_at or max(stale_at) <= BOUND, stale_at
    assert auth_client.get(ME).status_code == HTTPStatus.UNAUTHORIZED


def test_without_a_fault_an_answer_outlives_the_fault_bound(memcached, auth_client, django_assert_max_num_queries):
    """The bound costs one small read per process every ``CACHE_TRUST_SECONDS``, not
    the cached answers: they live their own lifetimes (product list 5 minutes)."""
    ProductFactory(stock=1)
    _fill(auth_client, PRODUCTS)

    time.sleep(BOUND)

    with django_assert_max_num_queries(1):  # the fault epoch, read again
        response = auth_client.get(PRODUCTS)
    assert response["X-Cache"] == "hit"


def test_a_lost_bump_is_recorded_where_every_process_reads_it(memcached, auth_client):
    product = ProductFactory(stock=1)
    _fill(auth_client, PRODUCTS)
    epoch = caches[DURABLE_CACHE].get(FAULT_EPOCH_KEY)

    def write():
        product.stock = 4242
        product.save()

    _killed_and_restarted(memcached, write)

    # Another process reads it within CACHE_TRUST_SECONDS, and stops trusting its entries.
    assert caches[DURABLE_CACHE].get(FAULT_EPOCH_KEY) not in {None, epoch}


def test_a_bump_the_cache_confirms_records_no_fault(memcached, auth_client):
    product = ProductFactory(stock=1)
    _fill(auth_client, PRODUCTS)
    epoch = caches[DURABLE_CACHE].get(FAULT_EPOCH_KEY)
    caches["default"].delete("orders:products:gen")  # evicted: the bump writes a new one

    product.stock = 7
    product.save()

    assert caches[DURABLE_CACHE].get(FAULT_EPOCH_KEY) == epoch
    response = auth_client.get(PRODUCTS)
    assert (response["X-Cache"], response.json()["results"][0]["stock"]) == ("miss", 7)
    assert auth_client.get(PRODUCTS)["X-Cache"] == "hit"


def test_migrate_alone_makes_the_durable_cache_table(tmp_path):
    """No deployment step can forget the fault epoch's table: ``migrate`` makes it."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DJANGO_DEBUG": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=180
    )

    tables = sqlite3.connect(tmp_path / "fresh.sqlite3").execute("SELECT name FROM sqlite_master").fetchall()
    assert ("cache_durable",) in tables
