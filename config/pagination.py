"""Page-number pagination with a client-chosen, capped page size."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class PageNumberPagination(pagination.PageNumberPagination):
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
