from django.urls import path

from accounts.api.views import ApiKeyDetailApi, ApiKeyListApi, LoginApi, MeApi, RefreshApi, RegisterApi

app_name = "auth"

urlpatterns = [
    path("register/", RegisterApi.as_view(), name="register"),
    path("login/", LoginApi.as_view(), name="login"),
    path("refresh/", RefreshApi.as_view(), name="refresh"),
    path("me/", MeApi.as_view(), name="me"),
    path("api-keys/", ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>/", ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
