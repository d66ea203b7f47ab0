"""WSGI entry point for gunicorn (its start-up hooks are in config/gunicorn.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()
