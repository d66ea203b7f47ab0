from http import HTTPStatus

import pytest
from rest_framework.test import APIRequestFactory

from config.pagination import PageNumberPagination


@pytest.mark.parametrize("page_size", ["0", "-1", "null", "1.5", "١٢", ""])
def test_bad_page_size_is_rejected(page_size):
    from rest_framework.exceptions import ValidationError
    from rest_framework.request import Request

    request = Request(APIRequestFactory().get("/", {"page_size": page_size}))

    with pytest.raises(ValidationError) as exc:
        PageNumberPagination().get_page_size(request)

    assert exc.value.status_code == HTTPStatus.BAD_REQUEST
    assert exc.value.detail == {"page_size": ["Give a whole number from 1 to 100."]}


@pytest.mark.parametrize(("page_size", "expected"), [(None, 20), ("5", 5), ("1000", 100)])
def test_page_size_is_capped(page_size, expected):
    from rest_framework.request import Request

    query = {} if page_size is None else {"page_size": page_size}
    request = Request(APIRequestFactory().get("/", query))

    assert PageNumberPagination().get_page_size(request) == expected


@pytest.fixture
def users(db):
    from django.contrib.auth import get_user_model

    model = get_user_model()
    model.objects.bulk_create([model(username=f"user{i:02}", email=f"user{i:02}@example.com") for i in range(7)])
    return model.objects.order_by("username")


def _page_or_error(paginator, number):
    from django.core.paginator import InvalidPage

    try:
        page = paginator.page(number)
    except InvalidPage as exc:
        return type(exc), str(exc)
    return [row.pk for row in page], paginator.count, paginator.num_pages, page.has_next(), page.has_previous()


@pytest.mark.parametrize("per_page", [1, 3, 7, 20])
@pytest.mark.parametrize("number", [1, 2, 3, 8, 0, -1, "x", "2", 1.5, 2**61, 10**25])
def test_page_and_total_match_djangos_paginator(users, per_page, number):
    from django.core.paginator import Paginator as DjangoPaginator

    from config.pagination import Paginator

    ours = _page_or_error(Paginator(users, per_page), number)
    assert ours == _page_or_error(DjangoPaginator(users, per_page), number)


@pytest.mark.parametrize("number", [1, 2])
def test_empty_list_matches_djangos_paginator(db, number):
    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator as DjangoPaginator

    from config.pagination import Paginator

    none = get_user_model().objects.order_by("pk")
    assert _page_or_error(Paginator(none, 20), number) == _page_or_error(DjangoPaginator(none, 20), number)


def test_a_page_and_its_total_are_one_query(users, django_assert_num_queries):
    from config.pagination import Paginator

    paginator = Paginator(users, 3)
    with django_assert_num_queries(1):
        page = paginator.page(2)
        assert [row.username for row in page] == ["user03", "user04", "user05"]
        assert (paginator.count, page.has_next()) == (7, True)
    assert not hasattr(page[0], "pagination_total_rows")  # the rows are as the queryset makes them


def test_distinct_rows_are_counted_apart(users, django_assert_num_queries):
    """COUNT(*) OVER () counts the rows before DISTINCT: such a queryset, and a UNION,
    keep Django's own COUNT."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from config.pagination import Paginator

    groups = [Group.objects.create(name=name) for name in ("g1", "g2")]
    for user in users:
        user.groups.set(groups)
    model = get_user_model()
    distinct = model.objects.filter(groups__name__startswith="g").distinct().order_by("username")
    union = model.objects.all().union(model.objects.all(), all=True).order_by("username")
    for queryset, total in ((distinct, 7), (union, 14)):
        paginator = Paginator(queryset, 5)
        with django_assert_num_queries(2):
            assert len(list(paginator.page(1))) == 5
            assert paginator.count == total


@pytest.mark.parametrize("url", ["/api/files/", "/api/orders/", "/api/codecheck/checks/", "/api/admin/orders/"])
def test_a_page_beyond_any_database_offset_is_a_404(staff_client, url):
    response = staff_client.get(url, {"page": "4036138754607163113472", "page_size": "191"})

    assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, {"detail": "Invalid page."})
