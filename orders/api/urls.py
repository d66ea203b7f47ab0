"""Shop URLs, mounted at /api/."""

from django.urls import path

from orders.api.views import (
    AdminOrderListApi,
    OrderDetailApi,
    OrderEventListApi,
    OrderListApi,
    OrderReceiptApi,
    ProductDetailApi,
    ProductListApi,
)

app_name = "orders-api"

urlpatterns = [
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<int:pk>/", ProductDetailApi.as_view(), name="product-detail"),
    path("orders/", OrderListApi.as_view(), name="order-list"),
    path("orders/<int:pk>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:pk>/events/", OrderEventListApi.as_view(), name="order-events"),
    path("orders/<int:pk>/receipt/", OrderReceiptApi.as_view(), name="order-receipt"),
    path("admin/orders/", AdminOrderListApi.as_view(), name="admin-order-list"),
]
