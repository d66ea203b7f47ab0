"""Every URL: JSON API under /api/, web pages, admin, schema and health."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.views import home
from config.health import HealthApi
from config.metrics_web import metrics
from config.web import favicon

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/", include("accounts.api.urls")),
    path("", include("files.api.urls")),
    path("codecheck/", include("codecheck.api.urls")),
    path("deals/", include("deals.api.urls")),
    path("", include("orders.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("", home, name="home"),
    path("health/", HealthApi.as_view(), name="health"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/", include(api_patterns)),
    path("api-auth/", include("rest_framework.urls")),
    path("accounts/", include("accounts.urls")),
    path("codecheck/", include("codecheck.urls")),
    path("admin/", admin.site.urls),
    # Local stand-ins of external services, the default targets under `make run` and compose.
    path("stand-in/", include("orders.standin")),
]

handler404 = "config.errors.not_found"
