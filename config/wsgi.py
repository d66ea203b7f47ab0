"""WSGI entry point for gunicorn."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()

# Import every view and build the URL resolver now (gunicorn --preload: once, before
# the workers fork) rather than in each worker's first request (0.6 s here, a stall
# for every connection that the worker holds).
get_resolver().resolve("/health/")

# Everything loaded so far (Django, the apps, their modules) lives as long as the
# process: keep it out of the collector's full passes, which scan it all while
# every thread of the worker waits, and out of copy-on-write after the fork.
gc.freeze()
