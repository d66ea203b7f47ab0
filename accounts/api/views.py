"""Register, log in (JWT) and read the current user."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.api.serializers import (
    LoginInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairOutputSerializer,
    UserOutputSerializer,
    login_body_schema,
)
from accounts.services import user_create

_429 = OpenApiResponse(description="Too many attempts; retry after the time given.")


class PublicApi(APIView):
    """Open to anonymous users; a failed login is still a 401, not a 403."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class RegisterApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: UserOutputSerializer, 429: _429},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        body = UserOutputSerializer(user).data
        return Response({k: body[k] for k in ("id", "email", "username")}, status=status.HTTP_201_CREATED)


class LoginApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request={"application/json": login_body_schema()},
        responses={
            200: TokenPairOutputSerializer,
            401: OpenApiResponse(description="Wrong email/username or password."),
            429: _429,
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login = data.validated_data.get("email") or data.validated_data.get("username")
        user = authenticate(request, username=login, password=data.validated_data["password"])
        if user is None:
            raise exceptions.AuthenticationFailed("No active account matches these credentials.")
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class MeApi(APIView):
    @extend_schema(
        responses={200: UserOutputSerializer},
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class RefreshApi(TokenRefreshView):
    """simplejwt's refresh (rotating: the old refresh token is blacklisted)."""

    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            401: OpenApiResponse(description="The refresh token is invalid, expired or already used."),
        },
        tags=["auth"],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)
