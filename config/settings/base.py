"""Settings for every environment, read from the environment with safe embedded defaults.

Nothing here needs a running service: without any URL set the project runs on
SQLite, a file-based cache shared by all its processes, kombu's filesystem
broker and file-based email. Setting a URL switches that part to the real service.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.logs import json_formatter

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")
# Where the embedded defaults keep their state: SQLite, cache, broker, mail, media.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core ------------------------------------------------------------------

DEV_SECRET_KEY = "django-insecure-development-key-change-me"  # noqa: S105
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: DEBUG is off and the key is the development default.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    # API keys: its abstract model is ours (accounts.ApiKey); its own table stays empty.
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_include_bootstrap",
    "config.apps.PlatformConfig",
    "accounts",
    "files",
    "codecheck",
    "deals",
    "orders",
    "webhooks",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",
    # Times everything below it; absent unless METRICS_TOKEN is set.
    "config.metrics_web.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Inside SecurityMiddleware, so the answers it makes get the security headers too.
    "config.middleware.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Database --------------------------------------------------------------
# Persistent connections: without them every request pays a new connection,
# several times the cost of a list request (docs/benchmarks.md).

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend whose health check looks at the socket instead of sending
    # SELECT 1 before every request, and whose timestamps are parsed by psycopg's
    # compiled loader (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Parameters bound by the server, and psycopg prepares a statement from the
    # connection's fifth run of it (Django turns that off by default): PostgreSQL
    # then skips planning it, a large share of its CPU for a page with its
    # children. DATABASE_PREPARE_THRESHOLD=off for a pooler that cannot keep
    # prepared statements (PgBouncer in transaction mode without
    # max_prepared_statements).
    _prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=None if _prepare_threshold.lower() == "off" else int(_prepare_threshold),
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock at BEGIN and wait for it, so concurrent writes queue
    # instead of failing with "database is locked".
    # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# --- Cache -----------------------------------------------------------------
# The default is a file cache that the web, worker and beat processes share,
# so an invalidation in one process is seen by all.

CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
# A dead or frozen memcached must mean slower answers, never errors or hangs.
MEMCACHED_OPTIONS = {
    "ignore_exc": True,
    "connect_timeout": 0.3,
    "timeout": 0.3,
    "no_delay": True,
    "retry_attempts": 1,
    "dead_timeout": 5,
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.memcached.PyMemcacheCache":
    # One connection per thread for its whole life, not one per request.
    CACHES["default"]["BACKEND"] = "config.memcached.PersistentPyMemcacheCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(MEMCACHED_OPTIONS)
CACHES["default"].setdefault("KEY_PREFIX", env.str("CACHE_KEY_PREFIX", default="app"))
# In the database, which every process shares and no cache fault loses: the fault
# epoch of config/cache.py. Every `migrate` makes its table (config/apps.py).
CACHES["durable"] = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "cache_durable",
    "TIMEOUT": None,
}
# How often each process re-reads the fault epoch (config/cache.py): the most a
# cached answer or user can be stale after an invalidation lost to a cache fault.
CACHE_TRUST_SECONDS = env.int("CACHE_TRUST_SECONDS", default=5)

# --- Auth ------------------------------------------------------------------

AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Static and media ------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads over 2.5 MB stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = env.str("DJANGO_FILE_UPLOAD_TEMP_DIR", default=None)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# A JSON request body nested deeper than this is refused with a 400.
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)

# --- Storage of uploaded files (local disk, or an S3-compatible bucket) --------
# Uploads, thumbnails, code files and receipts all go through STORAGES["default"].
# With AWS_STORAGE_BUCKET_NAME set they live in that bucket (django-storages,
# https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html), so
# web and workers on different machines share them; unset, on MEDIA_ROOT.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
# How long a download or thumbnail link handed out by the API stays valid.
FILES_SIGNED_URL_SECONDS = env.int("FILES_SIGNED_URL_SECONDS", default=300)
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        # MinIO, moto or another S3-compatible server; unset means AWS itself.
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        # Unset: boto3's own chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an instance role).
        "access_key": env.str("AWS_S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("AWS_S3_SECRET_ACCESS_KEY", default="") or None,
        # Path-style addressing: MinIO and most self-hosted servers have no per-bucket host names.
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
        "querystring_expire": FILES_SIGNED_URL_SECONDS,
        # Stored names are generated (uuid4) and unique already; skip the existence probe.
        "file_overwrite": True,
        "default_acl": None,
        # A stored file opened for reading is downloaded to a temporary file past this
        # size (django-storages' default, 0, keeps the whole object in memory).
        "max_memory_size": env.int("AWS_S3_MAX_MEMORY_SIZE", default=2_621_440),
    }
    from boto3.s3.transfer import TransferConfig

    # boto3 moves big files in 8 MB parts, this many at once, each held in memory
    # (its default, 10, holds about 80 MB per upload whatever the file's size).
    _s3_transfer = TransferConfig(max_concurrency=env.int("AWS_S3_MAX_CONCURRENCY", default=2))
    # s3transfer's own knob (not in boto3's signature): parts read ahead of the upload.
    _s3_transfer.max_in_memory_upload_chunks = _s3_transfer.max_request_concurrency
    _s3_options["transfer_config"] = _s3_transfer
    _default_storage: dict[str, Any] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Presigned links are signed for the host the client sees; set when that differs from
# AWS_S3_ENDPOINT_URL (MinIO reached as http://minio:9000 inside compose).
FILES_S3_PUBLIC_ENDPOINT_URL = env.str("FILES_S3_PUBLIC_ENDPOINT_URL", default="")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email -----------------------------------------------------------------

_email_url = env.str("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
vars().update(env.email_url_config(_email_url))
if _email_url.startswith("filemail:///"):
    # django-environ drops the leading "/" of filemail:///abs/path, so the inbox
    # would land under the working directory instead of where the URL says.
    EMAIL_FILE_PATH = _email_url.removeprefix("filemail://").partition("?")[0]
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@example.com")

# --- Security (production profile: DJANGO_DEBUG=off) ------------------------

# Proxies in front of the app (the TLS proxy of docs/deployment.md): 0 trusts no
# forwarded header at all, so a client that reaches gunicorn directly can claim
# neither https nor another address.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if NUM_PROXIES else None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /health/ is probed over plain HTTP by load balancers and compose healthchecks, and
# /metrics by Prometheus; the shipping stand-in is called by the workers over the
# internal network, server to server.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$", r"^stand-in/"]

# --- REST framework --------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedUserJWTAuthentication",
        # Integrations: "Authorization: Api-Key <key>" (docs/integrations.md).
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["config.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    # JSON only by default (bounded in size and depth); upload views declare multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    # The client address used by throttles is the one the last proxy saw.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "register": env.str("THROTTLE_REGISTER", default="20/hour"),
        "login": env.str("THROTTLE_LOGIN", default="30/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Human titles for the browsable API's pages ("Products", not "Product List Api").
    "VIEW_NAME_FUNCTION": "config.web.view_name",
    # DRF's browsable API, offering a fresh form after a successful POST (config/web.py).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "config.web.BrowsableAPIRenderer"],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Four products API",
    "DESCRIPTION": "accounts, files, codecheck, deals and orders on one stack.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Order status and health status are both called "status": a stable enum name.
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "orders.models.OrderStatus"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_standard_error_responses",
    ],
}

# --- Front door (home page) ----------------------------------------------------
# Flower runs on its own port; the home page links staff to it. `make run` hands the
# port it chose to every process as FLOWER_PORT (compose publishes 127.0.0.1:5555).
# An empty FLOWER_URL hides the link.
FLOWER_URL = env.str(
    "FLOWER_URL", default=f"http://127.0.0.1:{env.str('FLOWER_PORT', default='5555').rpartition(':')[2]}/"
)

# --- Celery ----------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html

REDIS_URL = env.str("REDIS_URL", default="")
# kombu warns on every connection whose URL has no host; the filesystem broker ignores it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_TRANSPORT: str | None = None  # from the URL's scheme
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport with whole-message writes and claims (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How long a consumer sleeps when the folder is empty (kombu's default is 1 s,
        # which capped the worker at about 2 tasks a second). A poll is one listdir.
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.01),
    }
else:
    # A frozen broker must not hang a request: fail fast, the sweepers re-drive.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "visibility_timeout": 3600,
        "max_retries": 1,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False
# Two queues, each with its own workers (Procfile, docker-compose.yml), so time-critical
# work never waits behind a backlog of emails, shipping calls or sweepers: "critical"
# for file processing, codecheck runs and order receipts, "default" for the rest.
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared, so a worker started without -Q consumes both and a purge empties both.
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in ("critical", "default"))
CELERY_TASK_ROUTES = {
    "files.tasks.file_process_task": {"queue": "critical"},
    "codecheck.tasks.codecheck_run_task": {"queue": "critical"},
    "orders.tasks.order_receipt_task": {"queue": "critical"},
    # /health/?deep=1 proves the time-critical queue is consumed.
    "config.tasks.health_ping_task": {"queue": "critical"},
}

# --- Operations ----------------------------------------------------------------
# /metrics (Prometheus) answers 404 until this is set, then only to
# "Authorization: Bearer <token>"; with it unset nothing is recorded either.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Every process of one host writes its samples here (prometheus-client's
# multiprocess mode) and /metrics sums them; wipe it before the processes start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
# A Celery worker's own scrape target (its host's processes, same bearer token), for
# workers whose host has no web process sharing the folder (compose's containers).
# 0: none. Served by the worker's main process on WORKER_METRICS_HOST.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_HOST = env.str("WORKER_METRICS_HOST", default="127.0.0.1")
# Traces (OpenTelemetry, config/tracing.py): off unless an OTLP/HTTP collector is given,
# e.g. http://otel-collector:4318 (the SDK reads the other OTEL_* variables itself).
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
# Each worker also consumes a queue of its own ("<node>.dq2"), so `manage.py worker_health`
# (the compose workers' healthcheck) can ask one worker to run a task. On in docker-compose.yml.
CELERY_WORKER_DIRECT = env.bool("CELERY_WORKER_DIRECT", default=False)
# /health/?deep=1: how long the worker has to answer a ping, and how long its answer is reused.
HEALTH_WORKER_TIMEOUT_SECONDS = env.float("HEALTH_WORKER_TIMEOUT_SECONDS", default=3.0)
HEALTH_WORKER_CACHE_SECONDS = env.int("HEALTH_WORKER_CACHE_SECONDS", default=10)

# --- Idempotent writes (Idempotency-Key, config/idempotency.py) ----------------
# How long a key's first answer is replayed (the contract: 24 hours), and how long a
# request may hold its key: a request that died frees it after that (a 409 meanwhile).
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=300)

# --- files -------------------------------------------------------------------

FILES_MAX_UPLOAD_BYTES = env.int("FILES_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
FILES_STALE_AFTER_SECONDS = env.int("FILES_STALE_AFTER_SECONDS", default=300)
# Images: Pillow only warns up to ~179 M pixels; refuse anything larger than this.
FILES_IMAGE_MAX_PIXELS = env.int("FILES_IMAGE_MAX_PIXELS", default=50_000_000)
FILES_THUMBNAIL_SIZE = env.int("FILES_THUMBNAIL_SIZE", default=256)
# ZIP bombs: refused by declared and by actually decompressed size, ratio and entry count.
FILES_ZIP_MAX_UNCOMPRESSED_BYTES = env.int("FILES_ZIP_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024)
FILES_ZIP_MAX_RATIO = env.int("FILES_ZIP_MAX_RATIO", default=100)
FILES_ZIP_MAX_ENTRIES = env.int("FILES_ZIP_MAX_ENTRIES", default=10_000)
# A file whose processing was interrupted this many times is marked failed instead of re-driven.
FILES_MAX_ATTEMPTS = env.int("FILES_MAX_ATTEMPTS", default=3)
# Test-only: holds each processing attempt this long, so a test can kill a worker mid-task.
FILES_PROCESS_DELAY_SECONDS = env.float("FILES_PROCESS_DELAY_SECONDS", default=0.0)

# --- Links in emails ------------------------------------------------------------

# The address people reach the site at: emails link to pages under it (config.links.absolute_url).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- codecheck ---------------------------------------------------------------

CODECHECK_MAX_UPLOAD_BYTES = env.int("CODECHECK_MAX_UPLOAD_BYTES", default=256 * 1024)
CODECHECK_INTERVAL_SECONDS = env.int("CODECHECK_INTERVAL_SECONDS", default=60)
# flake8 runs in a long-lived checker process: per-file CPU/wall-clock limit and an
# address-space limit (a 1 MB file took 10 s and 224 MB, 5 MB took 47 s and 1.2 GB).
CODECHECK_TIME_LIMIT_SECONDS = env.int("CODECHECK_TIME_LIMIT_SECONDS", default=30)
CODECHECK_MEMORY_LIMIT_BYTES = env.int("CODECHECK_MEMORY_LIMIT_BYTES", default=768 * 1024 * 1024)
# The project's own flake8 configuration; uploads never bring theirs.
CODECHECK_FLAKE8_ARGS = env.list("CODECHECK_FLAKE8_ARGS", default=["--max-line-length=79"])
# One check run feeds this many checker processes in parallel (each isolated and
# limited as above); default one per CPU this process may use. A Celery worker
# started with --concurrency=C runs C x this many checkers at most.
CODECHECK_CHECKER_PROCESSES = env.int(
    "CODECHECK_CHECKER_PROCESSES",
    default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
)
# Each checker process is replaced by a fresh one after this many files (0: never),
# so memory a file left behind does not stay for the process's life.
CODECHECK_CHECKER_MAX_TASKS = env.int("CODECHECK_CHECKER_MAX_TASKS", default=500)
# One run claims this many files at a time and stops claiming after the budget,
# well inside the task time limit; the next beat run takes the rest.
CODECHECK_CLAIM_BATCH = env.int("CODECHECK_CLAIM_BATCH", default=10)
CODECHECK_RUN_BUDGET_SECONDS = env.int("CODECHECK_RUN_BUDGET_SECONDS", default=60)
# A claim older than this belongs to a run that died; another run may take the file.
CODECHECK_CLAIM_TIMEOUT_SECONDS = env.int("CODECHECK_CLAIM_TIMEOUT_SECONDS", default=600)
# Reports still unsent this long after their check are re-enqueued by the sweeper.
CODECHECK_EMAIL_STALE_SECONDS = env.int("CODECHECK_EMAIL_STALE_SECONDS", default=300)
CODECHECK_EMAIL_MAX_RETRIES = env.int("CODECHECK_EMAIL_MAX_RETRIES", default=5)

# --- deals -------------------------------------------------------------------

DEALS_MAX_UPLOAD_BYTES = env.int("DEALS_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)

# --- orders ------------------------------------------------------------------

ORDERS_MIN_TOTAL = Decimal(env.str("ORDERS_MIN_TOTAL", default="1.00"))
# Printed on every receipt: the shop's name and the currency of all amounts (ISO 4217 code).
ORDERS_SHOP_NAME = env.str("ORDERS_SHOP_NAME", default="Shop")
ORDERS_CURRENCY = env.str("ORDERS_CURRENCY", default="EUR")
# By default the stack's own stand-in of the shipping API (orders/standin.py), so a
# shipped order completes offline. The web app serves on 127.0.0.1:$PORT, and
# `make run`'s supervisor hands every process the same PORT.
ORDERS_SHIPPING_API_URL = env.str(
    "ORDERS_SHIPPING_API_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}/stand-in/shipping/"
)
ORDERS_SHIPPING_API_TIMEOUT = env.float("ORDERS_SHIPPING_API_TIMEOUT", default=5.0)
# Exponential backoff of shipping API retries: base and cap in seconds (with full jitter).
ORDERS_SHIPPING_RETRY_BACKOFF = env.int("ORDERS_SHIPPING_RETRY_BACKOFF", default=2)
ORDERS_SHIPPING_RETRY_BACKOFF_MAX = env.int("ORDERS_SHIPPING_RETRY_BACKOFF_MAX", default=60)
# The sweeper re-drives receipts and shipping calls idle for longer than this.
ORDERS_SWEEP_AFTER_SECONDS = env.int("ORDERS_SWEEP_AFTER_SECONDS", default=300)

# --- webhooks ----------------------------------------------------------------
# docs/integrations.md, "Webhooks".

# Deliveries to loopback, private, link-local and metadata addresses (SSRF). On by
# default only with DEBUG (`make run`, so a receiver on 127.0.0.1 works); off under
# docker-compose.yml and the production profile, which set it explicitly.
WEBHOOKS_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOKS_ALLOW_PRIVATE_HOSTS", default=DEBUG)
# Seconds to connect and, separately, to wait for the answer; the task's time limits follow it.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# Seconds to wait after each failed attempt (each lengthened by up to 20% jitter);
# when the list is spent the delivery is failed. The default waits add up to 27.7 h.
WEBHOOKS_RETRY_SCHEDULE = [
    float(seconds)
    for seconds in env.list(
        "WEBHOOKS_RETRY_SCHEDULE", default=["5", "30", "120", "600", "1800", "3600", "7200", "14400", "28800", "43200"]
    )
]
# Sends in flight to one endpoint at most, so a slow receiver holds at most this many workers.
WEBHOOKS_ENDPOINT_CONCURRENCY = env.int("WEBHOOKS_ENDPOINT_CONCURRENCY", default=1)
# A send that holds an endpoint's slot goes on with that endpoint's next due deliveries
# for this long before handing the rest to new messages (no broker round trip each).
WEBHOOKS_DRAIN_SECONDS = env.float("WEBHOOKS_DRAIN_SECONDS", default=5.0)
# The sweeper re-publishes deliveries due for longer than this (their message was lost).
WEBHOOKS_SWEEP_AFTER_SECONDS = env.int("WEBHOOKS_SWEEP_AFTER_SECONDS", default=60)

# --- Beat schedule -------------------------------------------------------------
# Synced into django-celery-beat's tables when beat starts.

CELERY_BEAT_SCHEDULE = {
    # files: re-drive uploads still pending, or stuck processing, past FILES_STALE_AFTER_SECONDS.
    "files-sweep": {"task": "files.tasks.file_sweep_task", "schedule": 60.0},
    # codecheck: check every new or updated file; the interval is the product's promise.
    "codecheck-run": {"task": "codecheck.tasks.codecheck_run_task", "schedule": float(CODECHECK_INTERVAL_SECONDS)},
    # codecheck: re-send check reports whose email is still unsent.
    "codecheck-email-sweep": {"task": "codecheck.tasks.check_email_sweep_task", "schedule": 300.0},
    # orders: re-drive receipts and shipping calls whose task never ran.
    "orders-sweep": {"task": "orders.tasks.order_sweep_task", "schedule": 120.0},
    # Idempotency keys past IDEMPOTENCY_KEY_TTL_SECONDS: hourly is enough, an expired
    # key already counts as absent; this only keeps the table small.
    "idempotency-keys-expire": {"task": "config.tasks.idempotency_keys_expire_task", "schedule": 3600.0},
    # webhooks: re-drive deliveries whose message was lost; at most a sweep interval late.
    "webhooks-sweep": {"task": "webhooks.tasks.webhook_sweep_task", "schedule": 30.0},
}

# --- Logging ---------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "plain": human lines (`make run`); "json": one JSON object per line (docker-compose.yml),
# fields in docs/operations.md. Web and Celery processes alike use this LOGGING.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": json_formatter(),
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # config/celery.py logs each task once, when it ends (a failure with its
        # traceback); Celery's own "received", "succeeded", "raised" lines and
        # beat's "Sending due task" would repeat it.
        "celery.app.trace": {"level": "CRITICAL"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
    },
}
