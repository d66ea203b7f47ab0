"""The reference the product list is held to: a memcached hit for a 20-row DRF list.

The least a DRF list served from memcached costs: a bare Django (no middleware, no
database, no authentication) with one DRF view that reads the page's data from
memcached (pymemcache, as Django ships it) and returns it as a DRF ``Response``.
``orders_product_list.py`` serves it with the same gunicorn as the project and the
same page (the project's own answer, parsed), so their ratio is measured on the
same machine in the same minutes rather than against a figure taken elsewhere.

Environment: REFERENCE_MEMCACHED (host:port) and REFERENCE_PAGE_JSON (the page).
"""

import os

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="reference-only-" + "x" * 50,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=[],
    DATABASES={},
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": os.environ["REFERENCE_MEMCACHED"],
            "KEY_PREFIX": f"reference{os.getpid()}",
        }
    },
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
)

import django  # noqa: E402  (settings first: this file is its own project)

django.setup()

import json  # noqa: E402

from django.core.cache import cache  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

PAGE = json.loads(os.environ["REFERENCE_PAGE_JSON"])


class ReferenceListApi(APIView):
    def get(self, request):
        data = cache.get("page")
        if data is None:
            data = PAGE
            cache.set("page", data, 300)
        return Response(data, headers={"X-Cache": "miss" if data is PAGE else "hit"})


urlpatterns = [path("api/products/", ReferenceListApi.as_view())]
application = get_wsgi_application()
