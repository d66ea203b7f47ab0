"""Upload a deals file and read the top-5 report. Every error of the upload is a 400
with the contract's ``{"Status": "Error", "Desc": ...}`` body, and only here."""

import logging
from typing import cast

from django.conf import settings
from django.db import DataError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from config.cache import CachedGetMixin, Slot
from config.uploads import MULTIPART_OVERHEAD_BYTES
from deals.api.serializers import (
    DealsReportOutputSerializer,
    DealsStatusErrorOutputSerializer,
    DealsStatusOkOutputSerializer,
    DealsUploadInputSerializer,
)
from deals.parsing import DealsFileError
from deals.selectors import deals_report, deals_report_slot
from deals.services import deals_check, deals_upload

logger = logging.getLogger(__name__)


DRY_RUN = {"1": True, "true": True, "0": False, "false": False}


def _error(desc: str, *, errors: list[dict] | None = None, count: int = 1) -> Response:
    """A fault of the request itself (no file, too large) is one error with no line."""
    errors = errors if errors is not None else [{"line": None, "column": None, "message": desc}]
    body = {"Status": "Error", "Desc": desc, "Errors": errors, "ErrorCount": count}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _too_large() -> Response:
    limit = settings.DEALS_MAX_UPLOAD_BYTES
    return _error(f"The file is over the size limit of {limit} bytes ({limit / 1024 / 1024:.0f} MB).")


class DealsApi(CachedGetMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DealsUploadInputSerializer  # the browsable API's upload form

    def cache_slot(self, request: Request) -> Slot:
        return deals_report_slot()

    @extend_schema(
        responses={200: DealsReportOutputSerializer},
        tags=["deals"],
        summary="The 5 customers who spent the most in the current data set",
    )
    def get(self, request: Request) -> Response:
        # Already in the documented shape: no serializer pass over every gem.
        return Response({"response": deals_report()})

    @extend_schema(
        request={"multipart/form-data": DealsUploadInputSerializer},
        parameters=[
            OpenApiParameter(
                "dry_run",
                str,
                enum=list(DRY_RUN),
                description="`1` or `true`: validate the file only and answer its row count; the data set and "
                "the report stay as they are. `0`, `false` or absent: replace the data set. Anything else: 400.",
            )
        ],
        responses={
            200: OpenApiResponse(
                DealsStatusOkOutputSerializer,
                description='The file was accepted: `{"Status": "OK"}`, or on a dry run '
                '`{"Status": "OK", "Rows": n}` with nothing changed.',
            ),
            400: OpenApiResponse(
                DealsStatusErrorOutputSerializer,
                description="The file was refused (nothing changed): bad or missing header, wrong column count, "
                "bad total, quantity or date, empty, not UTF-8, over the size limit, no `deals` field, or a bad "
                "`dry_run`. `Desc` is the first fault, `Errors` every fault in file order (the first 1,000), "
                "`ErrorCount` how many in all.",
            ),
        },
        tags=["deals"],
        summary="Replace the data set with an uploaded deals.csv",
    )
    def post(self, request: Request) -> Response:
        dry_run = DRY_RUN.get(request.query_params.get("dry_run", "0"))
        if dry_run is None:
            return _error(f"Query parameter 'dry_run' must be one of {', '.join(DRY_RUN)}.")
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DEALS_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES:
            return _too_large()  # refused before the body is read
        try:
            data = DealsUploadInputSerializer(data=request.data)
        except (exceptions.ParseError, exceptions.UnsupportedMediaType) as exc:
            return _error(f"Send the file as multipart/form-data in the field 'deals' ({exc.detail}).")
        if not data.is_valid():
            return _error(f"Field 'deals': {' '.join(data.errors['deals'])}")
        upload = data.validated_data["deals"]
        if upload.size > settings.DEALS_MAX_UPLOAD_BYTES:
            return _too_large()
        try:
            if dry_run:
                return Response({"Status": "OK", "Rows": deals_check(file=upload.file)})
            deals_upload(file=upload.file, user=cast(User, request.user), name=upload.name or "")
        except DealsFileError as exc:
            return _error(exc.message, errors=exc.errors, count=exc.count)
        except DataError as exc:  # a value the parser let through but the database refused
            logger.exception("deals: the database refused a validated file")
            return _error(f"The database refused a value in the file: {str(exc).splitlines()[0]}")
        return Response({"Status": "OK"})
