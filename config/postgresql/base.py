"""Django's PostgreSQL backend with a health check that costs no round trip, and
timestamps read by psycopg's compiled parser.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of
every request on a reused connection. An idle connection's socket has nothing to
read unless the server closed it or is closing it (a restart,
``pg_terminate_backend``, an idle timeout: the server sends a FATAL error, then
closes), so looking at the socket answers the same question without asking the
server. Any byte waiting counts as a fault; at worst that costs a reconnect.

Not caught: a server host that vanished without closing the TCP connection. The
request's next query fails, which sets ``errors_occurred``, and Django closes the
connection at the end of that request (``close_if_unusable_or_obsolete``); the
request after it connects again.

Timestamps: Django reads every ``timestamptz`` through a loader that subclasses
psycopg's pure-Python one (psycopg's compiled loaders cannot be subclassed), so
with psycopg[binary] each timestamp is still parsed in Python, once per value of
every row read. Here the connection's loader keeps Django's behaviour (the value
in the session's time zone, which Django sets, then given ``self.timezone``) and
parses with the loader psycopg's default map holds (the compiled one where it is
installed). Django compares the loader's ``timezone`` with its own before each
cursor and registers its loader again when they differ; they never do here.
https://docs.djangoproject.com/en/5.2/ref/databases/#subclassing-the-built-in-database-backends
"""

import select
from functools import cache
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap, Buffer, Loader
from psycopg.pq import Format, TransactionStatus

# A command in flight or an aborted transaction fail Django's SELECT 1 too.
_USABLE_STATUSES = (TransactionStatus.IDLE, TransactionStatus.INTRANS)


def _readable(fd: int) -> bool:
    """Whether data, the end of the stream or an error waits on the socket, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
# psycopg's default map holds its compiled loader when psycopg[binary] or [c] is installed.
_TIMESTAMPTZ_PARSER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class TimestamptzLoader(Loader):
    """A ``timestamptz`` as Django's loader reads it: parsed, then given ``timezone``."""

    timezone: Any = None

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        parser = _TIMESTAMPTZ_PARSER(oid, context)  # type: ignore[misc]  # a concrete loader
        self._parse = parser.load

    def load(self, data: Buffer) -> Any:
        return self._parse(data).replace(tzinfo=self.timezone)


@cache
def _adapters(template: AdaptersMap, timezone: Any) -> AdaptersMap:
    """Django's adapters for ``timezone`` with this module's timestamp loader; one per pair."""
    adapters = AdaptersMap(template)
    loader = type("TimestamptzLoader", (TimestamptzLoader,), {"timezone": timezone})
    adapters.register_loader(TIMESTAMPTZ_OID, loader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params["context"] = _adapters(params["context"], self.timezone)
        return params

    def is_usable(self) -> bool:
        connection = self.connection
        # A broken connection is closed too.
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status not in _USABLE_STATUSES:
            return False
        try:
            return not _readable(connection.fileno())
        except (OSError, ValueError, psycopg.Error):
            return False
