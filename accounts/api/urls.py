from django.urls import path

from accounts.api.views import LoginApi, MeApi, RefreshApi, RegisterApi

app_name = "auth"

urlpatterns = [
    path("register/", RegisterApi.as_view(), name="register"),
    path("login/", LoginApi.as_view(), name="login"),
    path("refresh/", RefreshApi.as_view(), name="refresh"),
    path("me/", MeApi.as_view(), name="me"),
]
