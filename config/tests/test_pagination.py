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
