"""Test settings: base settings made faster; services still come from the environment."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, REDIS_URL, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A worker process started by a test is handed the same folder.
# Metrics files of this test run (a worker process started by a test is handed the same folder).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="") or tempfile.mkdtemp(prefix="test-metrics-")
# prometheus-client reads it once, when first imported (a test module may import it first).
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix="test-media-"))
# Redis when it is given (end-to-end tests start a real worker on it), else in memory.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
if CELERY_BROKER_URL == "memory://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CELERY_BROKER_TRANSPORT = None  # base's filesystem transport goes with its filesystem:// URL
if not env.str("CACHE_URL", default=""):
    CACHES = {**CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHES["default"]["KEY_PREFIX"] = f"test{os.getpid()}"
# A hit expected in a test must not expire on a busy machine; the fault tests set their own.
CACHE_TRUST_SECONDS = 60
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a worker process started by a test can share it.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"test-db-{os.getpid()}.sqlite3")}
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
# Tasks only tests send, known to the workers that tests start.
CELERY_IMPORTS = ["config.tests.celery_tasks"]
