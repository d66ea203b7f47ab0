"""gunicorn's settings, one place for ``make run``, Docker and the benchmarks:
``gunicorn -c config/gunicorn.py config.wsgi:application``. The bind address and
the access log are given on the command line of each.

The shape, measured on 2 cores (docs/benchmarks.md, "Server shape"):

- One worker process per CPU (``WEB_CONCURRENCY``): Python runs one thread of a
  process at a time, so a process uses one core at most, and more processes
  than cores only add context switches (4 workers served a cached list slower
  than 2, paired run by run).
- Threads (``GUNICORN_THREADS``, 4) for requests that wait on PostgreSQL, Redis
  or a client's upload.
- ``reuse_port``: each worker listens on its own socket and the kernel spreads new
  connections across them. On one shared socket the worker that accepts first
  takes most of them (16 connections on one worker of four, seen here), and a
  worker holding every connection uses one core of two.
"""

import contextlib
import gc
import logging
import os
from collections.abc import Mapping


def worker_count(environ: Mapping[str, str] = os.environ) -> int:
    """The number of workers a server started with ``environ`` runs (gunicorn reads
    only its own setting names from this file, so it ignores this function)."""
    return int(environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)


worker_class = "gthread"
workers = worker_count()
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
reuse_port = True
# Django is loaded once, before the fork, and every worker starts warm (``when_ready``).
preload_app = True
# The workers' heartbeat file: on a disk it can block a worker while the disk is
# busy (right after a big load, say); shared memory never does.
worker_tmp_dir = "/dev/shm"  # noqa: S108  (gunicorn creates its own private file there)
# Idle keep-alive connections stay open this long (gunicorn's default is 2 s). A
# client polling every 2 s on one connection otherwise races the server's close
# and gets "Remote end closed connection without response"; 75 s outlasts common
# polling intervals and a load balancer's 60 s idle timeout, so the proxy, not
# gunicorn, closes an idle upstream connection.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 75)


# No access log (neither `make run` nor Docker asks for one): the app logs each request
# itself, with its request id and user (config/request_id.py). With LOG_FORMAT=json
# gunicorn's own lines (start, worker boots and timeouts) are JSON lines too.
if os.environ.get("LOG_FORMAT") == "json":
    from config.logs import json_formatter

    logconfig_dict = {
        "formatters": {"json": json_formatter()},
        "filters": {"request_id": {"()": "config.request_id.RequestIdLogFilter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False}},
    }


def warm_up() -> None:
    """Import every view and build the URL resolver now rather than in a worker's
    first request (a stall for every connection that worker holds), then keep
    everything loaded so far (Django, the apps, their modules: it lives as long as
    the process) out of the collector's full passes, which scan it all while every
    thread of the worker waits, and out of copy-on-write after the fork."""
    from django.urls import Resolver404, get_resolver

    # Another URLconf (the benchmarks' reference app) may have no /health/: every
    # pattern was loaded all the same.
    with contextlib.suppress(Resolver404):
        get_resolver().resolve("/health/")
    gc.freeze()


def when_ready(server) -> None:
    """In the master, after the preloaded app, before the workers fork: warm up once
    for all, and log the real address (the master itself opens no socket)."""
    if server.cfg.preload_app:
        warm_up()
    addresses = ", ".join(f"http://{host}:{port}" for host, port in server.cfg.address)
    server.log.info("Listening at: %s (one socket per worker, reuse_port)", addresses)


def post_worker_init(worker) -> None:
    """Without preloading each worker loads the app itself: warm it there."""
    if not worker.cfg.preload_app:
        warm_up()


class _NoEmptyListenAddress(logging.Filter):
    """With reuse_port the master opens no socket (each worker opens its own), so
    its "Listening at:" line names none; ``when_ready`` logs the real address."""

    def filter(self, record: logging.LogRecord) -> bool:
        empty = isinstance(record.args, tuple) and bool(record.args) and not record.args[0]
        return not (str(record.msg).startswith("Listening at:") and empty)


def on_starting(server) -> None:
    logging.getLogger("gunicorn.error").addFilter(_NoEmptyListenAddress())
