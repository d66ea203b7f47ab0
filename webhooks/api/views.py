"""Webhooks API: a user's endpoints, a test event, and the delivery log."""

import json

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from config.pagination import paginated_response
from webhooks.api.serializers import (
    DeliveryAttemptOutputSerializer,
    EndpointCreatedOutputSerializer,
    EndpointCreateInputSerializer,
    EndpointOutputSerializer,
    EndpointUpdateInputSerializer,
    TestEventOutputSerializer,
)
from webhooks.models import DeliveryAttempt, Endpoint
from webhooks.selectors import attempt_list, endpoint_get, endpoint_list
from webhooks.services import endpoint_create, endpoint_delete, endpoint_test_send, endpoint_update, event_body
from webhooks.transport import UrlRefused

TAGS = ["webhooks"]
BAD_URL = OpenApiResponse(
    description="Unknown event type, a URL that is not http(s), or one that resolves to a loopback, private, "
    "link-local or metadata address (unless WEBHOOKS_ALLOW_PRIVATE_HOSTS)."
)


def _owned(request: Request, pk: int) -> Endpoint:
    endpoint = endpoint_get(user=request.user, pk=pk)
    if endpoint is None:
        raise NotFound("No webhook endpoint with this id.")
    return endpoint


def _url_refused(exc: UrlRefused) -> Response:
    return Response({"url": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)


class EndpointListApi(GenericAPIView):
    queryset = Endpoint.objects.none()
    serializer_class = EndpointOutputSerializer

    @extend_schema(responses={200: EndpointOutputSerializer(many=True)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        """The current user's webhook endpoints, newest first (secrets are never listed)."""
        return paginated_response(self, request, endpoint_list(user=request.user), EndpointOutputSerializer)

    @extend_schema(
        request=EndpointCreateInputSerializer,
        responses={201: EndpointCreatedOutputSerializer, 400: BAD_URL},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        """Register an endpoint; the answer holds its signing secret, shown this once."""
        data = EndpointCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            endpoint = endpoint_create(owner=request.user, **data.validated_data)
        except UrlRefused as exc:
            return _url_refused(exc)
        return Response(EndpointCreatedOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    @extend_schema(responses={200: EndpointOutputSerializer}, tags=TAGS)
    def get(self, request: Request, pk: int) -> Response:
        return Response(EndpointOutputSerializer(_owned(request, pk)).data)

    @extend_schema(
        request=EndpointUpdateInputSerializer,
        responses={200: EndpointOutputSerializer, 400: BAD_URL},
        tags=TAGS,
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change url, events or active; deactivating stops the pending retries for good."""
        endpoint = _owned(request, pk)
        data = EndpointUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            endpoint = endpoint_update(endpoint=endpoint, data=data.validated_data)
        except UrlRefused as exc:
            return _url_refused(exc)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request: Request, pk: int) -> Response:
        """Remove the endpoint with its delivery log; nothing more is sent to it."""
        endpoint_delete(endpoint=_owned(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointTestApi(APIView):
    @extend_schema(
        request=None,
        responses={
            202: TestEventOutputSerializer,
            409: OpenApiResponse(description="The endpoint is inactive."),
        },
        tags=TAGS,
    )
    def post(self, request: Request, pk: int) -> Response:
        """Send a `webhook.test` event to this endpoint (whatever its event list); the
        answer is the event's body. It is delivered and retried like any event."""
        event = endpoint_test_send(endpoint=_owned(request, pk))
        body = json.loads(event_body(event))
        return Response(TestEventOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class DeliveryListApi(GenericAPIView):
    queryset = DeliveryAttempt.objects.none()
    serializer_class = DeliveryAttemptOutputSerializer

    @extend_schema(responses={200: DeliveryAttemptOutputSerializer(many=True)}, tags=TAGS)
    def get(self, request: Request, pk: int) -> Response:
        """Every delivery attempt to this endpoint, newest first."""
        endpoint = _owned(request, pk)
        return paginated_response(self, request, attempt_list(endpoint=endpoint), DeliveryAttemptOutputSerializer)
