"""Shared fixtures: users and clients, real services, a real Celery worker, an SMTP server."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# The variables that move a part off its embedded default; a stack started on the
# embedded defaults is given an environment without them.
SERVICE_VARIABLES = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "MEMCACHED_URL")


def require_service(name: str, env_var: str) -> str:
    """The service's URL, or a skip naming what is missing (a failure in CI)."""
    url = os.environ.get(env_var, "")
    if not url:
        reason = f"{name} not configured: set {env_var} to run this test"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    return url


# --- Users and clients ------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from config.cache import fault_epoch_forget

    cache.clear()
    # Read on the test's first cached read, so it cannot fall due in the middle of a test.
    fault_epoch_forget()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


def jwt_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def auth_client(user):
    return jwt_client(user)


@pytest.fixture
def other_client(other_user):
    return jwt_client(other_user)


@pytest.fixture
def staff_client(staff_user):
    return jwt_client(staff_user)


# --- Real services ------------------------------------------------------------


@pytest.fixture
def postgres(db):
    """Marks a test that needs real PostgreSQL (row locks, COPY, concurrency)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the test database is not PostgreSQL: set DATABASE_URL")
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    return connection


@pytest.fixture
def redis_url():
    return require_service("Redis", "REDIS_URL")


@pytest.fixture
def memcached_url():
    return require_service("Memcached", "MEMCACHED_URL")


@contextmanager
def broker_outage():
    """While active, the Celery app publishes to a port where nothing listens,
    as when Redis is down. Usable inside a test, so an outage can end mid-test."""
    from kombu import pools

    from config.celery import app

    def forget_pools():
        # kombu keeps pools in a global registry keyed by URL; reset it so the
        # app looks its pool up again for the URL now configured.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    dead = "redis://127.0.0.1:1/0"
    original_url, original_env = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ["CELERY_BROKER_URL"] = dead
    app.conf.broker_url = dead
    forget_pools()
    try:
        yield
    finally:
        if original_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = original_env
        app.conf.broker_url = original_url
        forget_pools()


@pytest.fixture
def broker_down():
    with broker_outage():
        yield


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class CeleryWorker:
    """A real ``celery worker`` process on the test database and Redis."""

    def __init__(self, broker_url: str, log_path: Path, concurrency: int = 1):
        self.broker_url = broker_url
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"

    def start(self, timeout: float = 30) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--queues=critical,default",
                f"--concurrency={self.concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                self.name,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker(transactional_db, redis_url, tmp_path):
    """Starts a worker; the test publishes to the same Redis as the worker reads."""
    from config.celery import app

    if not str(app.conf.broker_url).startswith("redis"):
        pytest.fail("REDIS_URL is set but the Celery broker is not Redis; check config.settings.test")
    app.control.purge()  # messages left by earlier tests name rows that are gone
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()


def run_at_once(calls, timeout: float = 60) -> list:
    """Run each call in its own thread, released together by a barrier; return each
    call's result or the exception it raised, in order. Each thread closes its own
    database connection; a thread still running after ``timeout`` fails the test."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:  # a deadlock or any 5xx surfaces here
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a call is still running: deadlock or lock leak"
    return results


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy; return its value or fail with a timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Headless Chromium ------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver")


@pytest.fixture
def browser():
    """Headless Chromium driven by Selenium; its console log (``browser.get_log("browser")``) and
    its own network log (``get_log("performance")``, the oracle for which requests a page made) are kept."""
    import shutil

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        reason = f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER})"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


# --- SMTP ---------------------------------------------------------------------


class _Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend is pointed at it."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    inbox.port = settings.EMAIL_PORT
    yield inbox
    controller.stop()
