"""Shop API: products (admins write), the user's orders, status changes, receipts, admin list."""

from typing import cast

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from config.cache import CachedGetMixin, Slot
from config.errors import NotFound
from config.idempotency import idempotent
from config.pagination import paginated_response
from config.schema import IDEMPOTENCY_PARAMETERS, IDEMPOTENCY_RESPONSES
from orders.api.serializers import (
    OrderCreateInputSerializer,
    OrderEventOutputSerializer,
    OrderOutputSerializer,
    OrderStatusInputSerializer,
    ProductInputSerializer,
    ProductOutputSerializer,
)
from orders.cache import order_detail_slot, product_list_slot
from orders.models import Order, OrderEvent, Product
from orders.selectors import (
    AdminOrderFilter,
    ProductFilter,
    order_events,
    order_get,
    order_list,
    order_list_all,
    order_visible,
    product_list,
)
from orders.services import order_create, order_status_change, product_create, product_delete, product_update

_403_ADMIN = OpenApiResponse(description="Only admins (staff users) may do this.")
# What the filters accept, where the schema drf-spectacular infers from them says less.
_PRICE_BOUND = {"type": "number", "maximum": 1e50}  # django-filter's NumberFilter bound
PRODUCT_FILTER_PARAMETERS = [
    OpenApiParameter("min_price", _PRICE_BOUND),
    OpenApiParameter("max_price", _PRICE_BOUND),
    OpenApiParameter("search", {"type": "string", "maxLength": 200, "pattern": "^[^\\x00]*$"}),
]
ADMIN_ORDER_FILTER_PARAMETERS = [OpenApiParameter("user", {"type": "integer", "minimum": 1}, description="User id.")]
ORDER_NOT_FOUND = "No order with this id among your orders."


class IsAdminOrReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_staff)


class ProductListApi(CachedGetMixin, GenericAPIView):
    permission_classes = [IsAuthenticated, IsAdminOrReadOnly]
    queryset = Product.objects.none()
    filterset_class = ProductFilter
    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        return product_list()

    def cache_slot(self, request: Request) -> Slot:
        return product_list_slot(request)

    @extend_schema(
        parameters=PRODUCT_FILTER_PARAMETERS, responses={200: ProductOutputSerializer(many=True)}, tags=["orders"]
    )
    def get(self, request: Request) -> Response:
        """Products, filtered and paginated; cached, invalidated by any product change."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ProductInputSerializer,
        responses={201: ProductOutputSerializer, 403: _403_ADMIN},
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        data = ProductInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = product_create(**data.validated_data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminOrReadOnly]

    def _get(self, pk: int) -> Product:
        product = Product.objects.filter(pk=pk).first()
        if product is None:
            raise NotFound("No product with this id.")
        return product

    @extend_schema(responses={200: ProductOutputSerializer}, tags=["orders"])
    def get(self, request: Request, pk: int) -> Response:
        return Response(ProductOutputSerializer(self._get(pk)).data)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        product = self._get(pk)
        data = ProductInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        product = product_update(product=product, data=data.validated_data)
        return Response(ProductOutputSerializer(product).data)

    @extend_schema(
        request=ProductInputSerializer,
        responses={200: ProductOutputSerializer, 403: _403_ADMIN},
        tags=["orders"],
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        request=ProductInputSerializer(partial=True),
        responses={200: ProductOutputSerializer, 403: _403_ADMIN},
        tags=["orders"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(
        responses={
            204: None,
            403: _403_ADMIN,
            409: OpenApiResponse(description="The product appears in orders; set its stock to 0 instead."),
        },
        tags=["orders"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        product_delete(product=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderListApi(GenericAPIView):
    queryset = Order.objects.none()
    serializer_class = OrderOutputSerializer

    def get_queryset(self):
        return order_list(user=self.request.user)

    def get_serializer_class(self):
        # The browsable API's POST form shows what to send, not the answer.
        return OrderCreateInputSerializer if self.request.method == "POST" else OrderOutputSerializer

    @extend_schema(responses={200: OrderOutputSerializer(many=True)}, tags=["orders"])
    def get(self, request: Request) -> Response:
        """The current user's orders, newest first."""
        return paginated_response(self, request, self.get_queryset(), OrderOutputSerializer)

    @extend_schema(
        request=OrderCreateInputSerializer,
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            201: OrderOutputSerializer,
            400: OpenApiResponse(
                description="Invalid items (unknown product, quantity, below the minimum total) or not enough "
                "stock (the message names the product and what is available), or a malformed Idempotency-Key. "
                "Nothing is changed.",
            ),
            **IDEMPOTENCY_RESPONSES,
        },
        tags=["orders"],
    )
    @idempotent("orders.order-create")
    def post(self, request: Request) -> Response:
        """Place an order: stock is checked and decremented in one transaction."""
        data = OrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_create(user=cast(User, request.user), lines=data.validated_data["items"])
        return Response(OrderOutputSerializer(order_get(order_id=order.pk)).data, status=status.HTTP_201_CREATED)


def _visible_or_404(request: Request, pk: int) -> None:
    if not order_visible(user=cast(User, request.user), order_id=pk):
        raise NotFound(ORDER_NOT_FOUND)


class IsOrderVisible(BasePermission):
    """The owner or an admin; anyone else gets the 404 of an order that does not
    exist. A permission, so it runs before a cached answer is served too."""

    def has_permission(self, request, view) -> bool:
        _visible_or_404(request, view.kwargs["pk"])
        return True


class OrderDetailApi(CachedGetMixin, APIView):
    permission_classes = [IsAuthenticated, IsOrderVisible]

    def cache_slot(self, request: Request) -> Slot:
        return order_detail_slot(self.kwargs["pk"])

    @extend_schema(responses={200: OrderOutputSerializer}, tags=["orders"])
    def get(self, request: Request, pk: int) -> Response:
        """One order (owner or admin); cached, invalidated by any change to it."""
        try:
            return Response(OrderOutputSerializer(order_get(order_id=pk)).data)
        except Order.DoesNotExist as exc:
            raise NotFound(ORDER_NOT_FOUND) from exc

    @extend_schema(
        request=OrderStatusInputSerializer,
        responses={
            200: OrderOutputSerializer,
            400: OpenApiResponse(description="Unknown status, or a transition not allowed (allowed ones listed)."),
            403: OpenApiResponse(description="An owner may only cancel a pending order."),
        },
        tags=["orders"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change the status: admins along the workflow, owners only cancel a pending order."""
        data = OrderStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_status_change(
            order=Order(pk=pk), actor=cast(User, request.user), status=data.validated_data["status"]
        )
        return Response(OrderOutputSerializer(order_get(order_id=order.pk)).data)


class OrderEventListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsOrderVisible]
    queryset = OrderEvent.objects.none()
    serializer_class = OrderEventOutputSerializer

    @extend_schema(
        responses={200: OrderEventOutputSerializer(many=True), 404: OpenApiResponse(description=ORDER_NOT_FOUND)},
        tags=["orders"],
    )
    def get(self, request: Request, pk: int) -> Response:
        """The order's history (owner or admin), oldest first: created, receipt_generated,
        email_sent, status_changed, shipping_attempt."""
        return paginated_response(self, request, order_events(order_id=pk), OrderEventOutputSerializer)


class OrderReceiptApi(APIView):
    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF receipt."),
            404: OpenApiResponse(description="No such order, or its receipt is not generated yet."),
        },
        tags=["orders"],
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        """Download the PDF receipt of an order (owner or admin)."""
        _visible_or_404(request, pk)
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            raise NotFound(ORDER_NOT_FOUND)
        if not order.receipt:
            raise NotFound("The receipt of this order is not ready yet; it is generated within seconds, try again.")
        return FileResponse(
            order.receipt.open("rb"),
            as_attachment=True,
            filename=f"receipt-{order.number}.pdf",
            content_type="application/pdf",
        )


class AdminOrderListApi(GenericAPIView):
    permission_classes = [IsAdminUser]
    queryset = Order.objects.none()
    serializer_class = OrderOutputSerializer
    filterset_class = AdminOrderFilter

    def get_queryset(self):
        return order_list_all()

    @extend_schema(
        parameters=ADMIN_ORDER_FILTER_PARAMETERS,
        responses={200: OrderOutputSerializer(many=True), 403: _403_ADMIN},
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        """All orders, filtered by status and user id (admins only)."""
        return paginated_response(self, request, self.filter_queryset(self.get_queryset()), OrderOutputSerializer)
