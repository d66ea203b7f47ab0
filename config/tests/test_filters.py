"""The filter backend answers as django-filter's own, and skips the filter set only when no filter is asked for."""

from decimal import Decimal

import django_filters
import pytest
from django.http import QueryDict
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.filters import FilterBackend, StrictFilterSet, _names_a_filter
from files.api.views import FileListApi
from files.selectors import file_list
from files.tests.factories import FileFactory
from orders.api.views import ProductListApi
from orders.models import Product
from orders.selectors import product_list

pytestmark = pytest.mark.django_db


class _RangeFilter(StrictFilterSet):
    price = django_filters.RangeFilter()

    class Meta:
        model = Product
        fields = ["price"]


def _request(query: str) -> Request:
    return Request(APIRequestFactory().get(f"/?{query}"))


def _filtered(backend, view, request, queryset) -> list[int] | str:
    """The rows' ids in order, or the 400's fields."""
    try:
        return [row.pk for row in backend.filter_queryset(request, queryset, view)]
    except ValidationError as exc:
        return f"400 {exc.detail!r}"


@pytest.mark.parametrize(
    "query",
    ["", "page=2", "page_size=5&page=1", "status=done", "kind=csv&status=done", "status=", "status=nope", "x=1"],
)
def test_the_files_list_filters_as_django_filter_does(user, query):
    FileFactory(owner=user, status="pending")
    FileFactory(owner=user, status="done", processed=True, kind="csv")
    FileFactory(owner=user, status="done", processed=True, kind="text")
    view = FileListApi()
    view.request = request = _request(query)
    queryset = file_list(user=user).order_by("pk")
    ours = _filtered(FilterBackend(), view, request, queryset)
    assert ours == _filtered(DjangoFilterBackend(), view, request, queryset)
    if query == "status=done":  # the oracle itself filtered
        assert len(ours) == 2


@pytest.mark.parametrize(
    "query", ["", "ordering=-price", "min_price=2", "max_price=abc", "category=", "search=Чай", "ordering=nope"]
)
def test_the_product_list_filters_as_django_filter_does(query):
    for name, price in [("Чай", "3.00"), ("Кофе", "1.00"), ("Сахар", "2.00")]:
        Product.objects.create(name=name, price=Decimal(price), stock=1)
    view = ProductListApi()
    view.request = request = _request(query)
    queryset = product_list()
    assert _filtered(FilterBackend(), view, request, queryset) == _filtered(
        DjangoFilterBackend(), view, request, queryset
    )


def test_a_filter_read_from_suffixed_parameters_counts_as_asked_for():
    assert _names_a_filter(QueryDict("price_min=1"), _RangeFilter)
    assert _names_a_filter(QueryDict("price_max=9&page=2"), _RangeFilter)
    assert not _names_a_filter(QueryDict("page=2&page_size=5"), _RangeFilter)
    assert not _names_a_filter(QueryDict(""), _RangeFilter)
