"""Register, log in (JWT), read the current user, manage API keys."""

from typing import Any, cast

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from accounts.api.serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    LoginInputSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenPairOutputSerializer,
    UserOutputSerializer,
    login_body_schema,
)
from accounts.authentication import IsNotApiKey
from accounts.models import ApiKey, User
from accounts.selectors import api_key_list
from accounts.services import api_key_create, api_key_revoke, user_create
from config.pagination import paginated_response

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


_403_API_KEY = OpenApiResponse(description="Sent with an API key: keys cannot manage keys.")
# Key management takes a login, never a key (the key scheme would only earn a 403).
# Security requirement objects, which extend_schema takes (its type hint says names).
_LOGIN_ONLY: Any = [{"jwtAuth": []}, {"cookieAuth": []}]


class ApiKeyListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsNotApiKey]
    queryset = ApiKey.objects.none()
    serializer_class = ApiKeyOutputSerializer

    @extend_schema(
        responses={200: ApiKeyOutputSerializer(many=True), 403: _403_API_KEY}, auth=_LOGIN_ONLY, tags=["auth"]
    )
    def get(self, request: Request) -> Response:
        """Your API keys still in use, newest first (the keys themselves are never shown again)."""
        return paginated_response(self, request, api_key_list(user=cast(User, request.user)), ApiKeyOutputSerializer)

    @extend_schema(
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer, 403: _403_API_KEY},
        auth=_LOGIN_ONLY,
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        """Make a key for automation: send it as `Authorization: Api-Key <key>`. The
        `key` is in this answer only; keep it, it cannot be shown again."""
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, key = api_key_create(user=cast(User, request.user), name=data.validated_data["name"])
        # ApiKeyCreatedOutputSerializer's shape: the key is not on the row.
        return Response({**ApiKeyOutputSerializer(api_key).data, "key": key}, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsNotApiKey]

    @extend_schema(
        responses={204: None, 403: _403_API_KEY, 404: OpenApiResponse(description="No such key among yours.")},
        auth=_LOGIN_ONLY,
        tags=["auth"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke a key: it stops working at once and leaves the list."""
        api_key_revoke(user=cast(User, request.user), key_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
