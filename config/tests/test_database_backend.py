"""config.postgresql: the health check sees a healthy and a terminated connection
without a round trip, and agrees with Django's own SELECT 1 (real PostgreSQL)."""

from http import HTTPStatus

import psycopg
import pytest
from django.db import close_old_connections, connections
from django.db.backends.postgresql.base import DatabaseWrapper as StockDatabaseWrapper
from django.urls import reverse

from config.postgresql.base import DatabaseWrapper
from conftest import wait_until

# A real idle connection: outside the transaction pytest-django wraps a test in.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def idle(postgres):
    """The test database's connection (the wrapper, not the ``connection`` proxy),
    connected and idle; closed afterwards, so a terminated one never reaches the next test."""
    wrapper = connections["default"]
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


@pytest.fixture
def observer(idle):
    """A second connection that watches and terminates the first one's backend."""
    db = idle.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        yield conn


def _activity(observer: psycopg.Connection, pid: int) -> tuple | None:
    return observer.execute(
        "SELECT state, query, query_start, state_change FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()


def _terminate(observer: psycopg.Connection, pid: int) -> None:
    assert observer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    wait_until(lambda: _activity(observer, pid) is None, timeout=10)


def test_idle_connection_is_usable_and_checked_without_a_query(idle, observer):
    assert isinstance(idle, DatabaseWrapper)
    pid = idle.connection.info.backend_pid
    before = _activity(observer, pid)

    usable = idle.is_usable()

    assert usable
    assert _activity(observer, pid) == before
    assert before[0] == "idle"
    # The observation would have seen a query: Django's own check is one.
    assert StockDatabaseWrapper.is_usable(idle)
    state, query, query_start, _ = _activity(observer, pid)
    assert (state, query) == ("idle", "SELECT 1")
    assert query_start > before[2]


def test_terminated_connection_is_unusable_and_the_next_request_reconnects(idle, observer, auth_client):
    pid = idle.connection.info.backend_pid
    _terminate(observer, pid)

    usable = idle.is_usable()
    # The test client leaves close_old_connections off request_started; Django's
    # request handler runs it at the start of every request.
    close_old_connections()
    response = auth_client.get(reverse("files-api:file-list"))

    assert not usable
    assert response.status_code == HTTPStatus.OK
    assert idle.connection.info.backend_pid != pid


def test_terminated_connection_is_unusable_to_django_s_own_check_too(idle, observer):
    _terminate(observer, idle.connection.info.backend_pid)

    ours = idle.is_usable()
    stock = StockDatabaseWrapper.is_usable(idle)  # runs SELECT 1

    assert (ours, stock) == (False, False)
