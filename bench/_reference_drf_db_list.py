"""The reference the ordinary lists are held to: a bare DRF ``ListAPIView`` of 20 PostgreSQL rows.

The least a DRF list read from PostgreSQL costs: a bare Django (no middleware, no
authentication, no pagination, no filtering) with one ``ListAPIView`` over a
``ModelSerializer`` of a 10-column table (``reference_row``, made and filled by
``_support.fill_reference_rows``). ``list_ordinary.py`` and ``orders_http.py`` serve it with the
same gunicorn as the project, so the ratios they print are measured on the same
machine in the same minutes rather than against a figure taken elsewhere.

Environment: REFERENCE_DATABASE_URL (postgres://...).
"""

import os

import environ
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="reference-only-" + "x" * 50,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    # This module is its own app, so that it may declare the model below.
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", __name__],
    MIDDLEWARE=[],
    DATABASES={"default": {**environ.Env.db_url_config(os.environ["REFERENCE_DATABASE_URL"]), "CONN_MAX_AGE": 60}},
    USE_TZ=True,
    TIME_ZONE="UTC",
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
)

import django  # noqa: E402  (settings first: this file is its own project)

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import models  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework import generics, serializers  # noqa: E402


class Row(models.Model):
    owner_id = models.BigIntegerField()
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=127)
    kind = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    processed = models.BooleanField()
    error = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = __name__
        db_table = "reference_row"
        managed = False

    def __str__(self) -> str:
        return self.name


class RowSerializer(serializers.ModelSerializer):
    class Meta:
        model = Row
        fields = "__all__"


class ReferenceListApi(generics.ListAPIView):
    queryset = Row.objects.order_by("id")[:20]
    serializer_class = RowSerializer


urlpatterns = [path("api/reference/", ReferenceListApi.as_view())]
application = get_wsgi_application()
