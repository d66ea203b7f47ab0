"""What the benchmarks share: a free port, the production profile, a gunicorn to load."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project's own modules (Django's settings, config/gunicorn.py) for every script.
sys.path.insert(0, str(ROOT))

from config.gunicorn import worker_count  # noqa: E402  (importable once ROOT is on the path)

# The production profile (DEBUG off), minus the HTTPS redirect: benchmarks speak
# plain HTTP on 127.0.0.1.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
}


def http_bench_environment() -> None:
    """The environment of the benchmarks that sign a JWT here and send it to a
    gunicorn they start: production settings, quiet logs, and one secret key for
    both, so the token is valid there. Call before Django is set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SECRET_KEY"] = "bench-" + "k" * 60


def orders_bench_environment() -> None:
    """The environment of the orders benchmarks that call the services in-process:
    production settings (DEBUG off), Redis as the broker when REDIS_URL is set
    (else in memory), quiet logs. Call before Django is set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("CELERY_BROKER_URL", os.environ.get("REDIS_URL") or "memory://")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 60)


@contextmanager
def throwaway_postgres_database(name: str) -> Iterator[None]:
    """A fresh PostgreSQL database ``name`` (migrated like a test database) for the
    block, dropped afterwards. Django must be set up."""
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL: set DATABASE_URL=postgres://...")
    connection.settings_dict["TEST"]["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run_in_throwaway_postgres_database(name: str, run) -> None:
    """Set Django up, then call ``run()`` in ``throwaway_postgres_database(name)``."""
    import django

    django.setup()
    with throwaway_postgres_database(name):
        run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_gunicorn(
    *,
    env: dict,
    workers: int | None = None,
    threads: int | None = None,
    extra: tuple[str, ...] = (),
    app: str = "config.wsgi:application",
    stderr=subprocess.DEVNULL,
):
    """gunicorn as ``make run`` starts it (``config/gunicorn.py``; no access log), on a
    free port once every worker accepts; ``workers`` and ``threads`` override the
    shape, ``app`` another WSGI application to serve so; ``stderr`` takes its log lines.
    Returns (process, port); the process leads its own session, for ``stop``."""
    port = free_port()
    shape = [*([f"--workers={workers}"] if workers else []), *([f"--threads={threads}"] if threads else [])]
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            f"--config={ROOT / 'config' / 'gunicorn.py'}",
            app,
            f"--bind=127.0.0.1:{port}",
            *shape,
            "--log-level=warning",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    expected = workers or worker_count(env)
    try:
        wait_for_port(port)
        # Each worker listens on its own socket (reuse_port): connections made before
        # the last one listens would all go to the others.
        deadline = time.monotonic() + 30
        while _listening_sockets(port) < expected:
            if time.monotonic() > deadline:
                raise OSError(f"gunicorn: fewer than {expected} workers listen on port {port}")
            time.sleep(0.05)
    except OSError:
        stop(process)
        raise
    return process, port


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (state 0A in /proc/net/tcp)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_memcached(memory_mb: int = 64) -> tuple[subprocess.Popen | None, str | None]:
    """A private memcached on a free port when the binary is installed: a shared one
    may be flushed by other processes (test suites clear the cache), turning hits
    into misses. Without the binary: (None, CACHE_URL or MEMCACHED_URL if set)."""
    binary = shutil.which("memcached")
    if not binary:
        return None, os.environ.get("MEMCACHED_URL") or os.environ.get("CACHE_URL")
    port = free_port()
    args = [binary, "-l", "127.0.0.1", "-p", str(port), "-m", str(memory_mb), "-U", "0", "-t", "1"]
    process = subprocess.Popen([*args, "-u", "root"] if os.geteuid() == 0 else args)
    wait_for_port(port, timeout=5)
    return process, f"pymemcache://127.0.0.1:{port}"


def wrk_rate(url: str, seconds: int, *, connections: int = 16, headers: dict | None = None, script: str = "") -> float:
    """Requests/s that wrk (2 threads, ``connections`` keep-alive connections) gets from
    ``url``; exits if any answer is not 2xx/3xx. ``script``: a wrk Lua file (a POST, say)."""
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    args = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", *(["-s", script] if script else [])]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        sys.exit(f"{url}: {bad.group(1)} non-2xx responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def database_url(settings_dict: dict) -> str:
    """A postgres:// URL for the database Django's ``settings_dict`` names (a throwaway one, say)."""
    s = settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_reference_db_list(db_url: str, **shape) -> tuple[subprocess.Popen, str]:
    """``_reference_drf_db_list.py`` (a bare DRF ListAPIView of 20 PostgreSQL rows) under the
    project's gunicorn settings, reading ``db_url``, whose ``reference_row`` table
    ``fill_reference_rows`` made. Returns (process, URL of the list)."""
    env = {**os.environ, "REFERENCE_DATABASE_URL": db_url, "PYTHONWARNINGS": "ignore"}
    process, port = start_gunicorn(
        env=env,
        app="_reference_drf_db_list:application",
        extra=(f"--pythonpath={Path(__file__).resolve().parent}",),
        **shape,
    )
    return process, f"http://127.0.0.1:{port}/api/reference/"


def fill_reference_rows(connection, rows: int = 20) -> None:
    """The reference's table with ``rows`` rows, in the database ``connection`` is on."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    create_table = (
        "CREATE TABLE reference_row ("
        " id bigserial PRIMARY KEY, owner_id bigint NOT NULL, name varchar(255) NOT NULL,"
        " size bigint NOT NULL, content_type varchar(127) NOT NULL, kind varchar(16) NOT NULL,"
        " status varchar(16) NOT NULL, processed boolean NOT NULL, error text NOT NULL,"
        " created_at timestamptz NOT NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(create_table)
        cursor.execute(
            "INSERT INTO reference_row (owner_id, name, size, content_type, kind, status, processed, error, created_at)"
            " SELECT 1, 'file-' || i || '.txt', 1000 + i, 'text/plain', 'text', 'done', true, '', now()"
            " FROM generate_series(1, %s) AS i",
            [rows],
        )
