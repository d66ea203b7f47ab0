"""config.postgresql: the health check sees a healthy and a terminated connection
without a round trip, and agrees with Django's own SELECT 1; timestamps read as
PostgreSQL itself writes them (real PostgreSQL)."""

from datetime import UTC, datetime
from http import HTTPStatus

import psycopg
import psycopg.types.datetime
import pytest
from django.db import close_old_connections, connections
from django.db.backends.postgresql.base import DatabaseWrapper as StockDatabaseWrapper
from django.urls import reverse

from config.postgresql.base import TIMESTAMPTZ_OID, DatabaseWrapper, TimestamptzLoader
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


# Written with other offsets and zones too: the server converts them to the session's UTC.
TIMESTAMPS = [
    "2026-12-08 02:33:32.066391+00",
    "2026-06-30 23:59:59.999999-09:30",
    "2026-03-29 02:30:00 Europe/Moscow",
    "2000-02-29 12:00:00.5+14",
    "1969-12-31 23:59:59.000001+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def test_timestamps_read_as_the_server_writes_them(postgres):
    with postgres.cursor() as cursor:
        cursor.execute(
            """SELECT t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
               FROM unnest(%s::timestamptz[]) WITH ORDINALITY AS u(t, n) ORDER BY n""",
            [TIMESTAMPS],
        )
        rows = cursor.fetchall()

    assert len(rows) == len(TIMESTAMPS)
    for value, utc_text in rows:
        assert value == datetime.fromisoformat(utc_text).replace(tzinfo=UTC)
        assert value.tzinfo is postgres.timezone  # the time zone Django's own loader gives


def test_cursors_keep_the_backend_s_timestamp_loader(postgres):
    """Django registers its own loader on a cursor whose connection's loader names
    another time zone: each cursor must still hold this backend's."""
    with postgres.cursor() as cursor:
        loader_class = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
        loader = loader_class(TIMESTAMPTZ_OID, cursor.cursor)

    assert issubclass(loader_class, TimestamptzLoader)
    assert loader.timezone is postgres.timezone
    if psycopg.pq.__impl__ != "python":  # psycopg[binary] or [c]: the compiled parser
        assert not isinstance(loader._parse.__self__, psycopg.types.datetime.TimestamptzLoader)


def test_a_repeated_list_query_is_prepared(postgres, auth_client):
    """Django turns psycopg's prepared statements off unless OPTIONS asks for them;
    from its fifth run on the connection, a list's page query is planned once."""
    url = reverse("files-api:file-list")
    for _ in range(6):
        assert auth_client.get(url).status_code == HTTPStatus.OK

    with postgres.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ['%"files_file"%'])
        prepared = cursor.fetchall()

    assert postgres.connection.prepare_threshold == 5
    assert len(prepared) == 1
