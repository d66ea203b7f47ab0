from django.urls import path

from deals.api.views import DealsApi

app_name = "deals-api"

urlpatterns = [
    path("", DealsApi.as_view(), name="deals"),
]
