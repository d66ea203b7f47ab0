"""Page-number pagination with a client-chosen, capped page size.

A page and the total it reports come from one query: the page's rows carry
``COUNT(*) OVER ()``, the number of rows the query matches before its ``LIMIT``.
Django's paginator asks for a ``COUNT(*)`` first and then for the rows, two round
trips to PostgreSQL for every list request (docs/benchmarks.md, "The ordinary path").
"""

from typing import TypeGuard

from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import Count, QuerySet, Window
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

TOTAL_ANNOTATION = "pagination_total_rows"
# Databases take OFFSET and LIMIT as signed 64-bit integers: a page that starts
# beyond that has no rows in any table (and would be a database error, not a 404).
MAX_ROW_NUMBER = 2**63 - 1


class Paginator(DjangoPaginator):
    """Django's paginator, reading the total from the page's own query where it can."""

    def page(self, number) -> Page:
        rows_query = self.object_list
        if "count" in self.__dict__ or not _counts_in_page_query(rows_query) or self.orphans:
            return super().page(number)  # the total is known already, or the window would miscount
        number = self._whole_positive(number)
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page > MAX_ROW_NUMBER:
            raise EmptyPage(self.error_messages["no_results"])
        rows = list(rows_query.annotate(**{TOTAL_ANNOTATION: Window(Count("*"))})[bottom : bottom + self.per_page])
        if not rows and number > 1:  # past the end, whatever the total
            raise EmptyPage(self.error_messages["no_results"])
        self.count = getattr(rows[0], TOTAL_ANNOTATION) if rows else 0
        for row in rows:
            delattr(row, TOTAL_ANNOTATION)
        if not rows and not self.allow_empty_first_page:
            raise EmptyPage(self.error_messages["no_results"])
        return Page(rows, number, self)

    def _whole_positive(self, number) -> int:
        """``validate_number`` without the range check, which needs the total."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number


def _counts_in_page_query(rows) -> TypeGuard[QuerySet]:
    """Whether ``COUNT(*) OVER ()`` on ``rows`` counts what ``rows.count()`` would: a
    queryset of model instances (not ``values()``), not sliced, not DISTINCT (the
    window is computed before DISTINCT) and not a UNION."""
    if not isinstance(rows, QuerySet):
        return False
    query = rows.query
    return not (query.is_sliced or query.distinct or query.combinator or query.values_select)


class PageNumberPagination(pagination.PageNumberPagination):
    django_paginator_class = Paginator
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        """A page size that is not a positive whole number is a 400, not silently ignored."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({self.page_size_query_param: ["Give a whole number from 1 to 100."]})
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                # Larger sizes are capped, not refused, so the schema states no maximum.
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = f"Results per page (default 20; more than {self.max_page_size} is capped)."
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


def paginated_response(view: APIView, request: Request, queryset, serializer_class) -> Response:
    """One page of ``queryset``, rendered by ``serializer_class`` in the shape of the
    view's pagination class (``count``, ``next``, ``previous``, ``results``). Works for
    an ``APIView`` that names a ``pagination_class`` and a ``GenericAPIView`` alike."""
    paginator = view.pagination_class()  # type: ignore[attr-defined]
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
