"""Django's PostgreSQL backend with a health check that costs no round trip.

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
https://docs.djangoproject.com/en/5.2/ref/databases/#subclassing-the-built-in-database-backends
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

# A command in flight or an aborted transaction fail Django's SELECT 1 too.
_USABLE_STATUSES = (TransactionStatus.IDLE, TransactionStatus.INTRANS)


def _readable(fd: int) -> bool:
    """Whether data, the end of the stream or an error waits on the socket, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
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
