"""Webhooks URLs, mounted at /api/webhooks/."""

from django.urls import path

from webhooks.api.views import DeliveryListApi, EndpointDetailApi, EndpointListApi, EndpointTestApi

app_name = "webhooks-api"

urlpatterns = [
    path("", EndpointListApi.as_view(), name="endpoint-list"),
    path("<int:pk>/", EndpointDetailApi.as_view(), name="endpoint-detail"),
    path("<int:pk>/test/", EndpointTestApi.as_view(), name="endpoint-test"),
    path("<int:pk>/deliveries/", DeliveryListApi.as_view(), name="endpoint-deliveries"),
]
