from django.urls import path
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.api.views import LoginApi, MeApi, RegisterApi

app_name = "auth"

urlpatterns = [
    path("register/", RegisterApi.as_view(), name="register"),
    path("login/", LoginApi.as_view(), name="login"),
    path("refresh/", TokenRefreshView.as_view(), name="refresh"),
    path("me/", MeApi.as_view(), name="me"),
]
