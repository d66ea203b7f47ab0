"""Upload a deals file and read the top-5 report. Every error of the upload is a 400
with the contract's ``{"Status": "Error", "Desc": ...}`` body, and only here."""

import logging
from typing import cast

from django.conf import settings
from django.db import DataError
from drf_spectacular.utils import OpenApiResponse, extend_schema
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
from deals.services import deals_upload

logger = logging.getLogger(__name__)


def _error(desc: str) -> Response:
    return Response({"Status": "Error", "Desc": desc}, status=status.HTTP_400_BAD_REQUEST)


def _too_large() -> Response:
    limit = settings.DEALS_MAX_UPLOAD_BYTES
    return _error(f"The file is over the size limit of {limit} bytes ({limit / 1024 / 1024:.0f} MB).")


class DealsApi(CachedGetMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

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
        responses={
            200: DealsStatusOkOutputSerializer,
            400: OpenApiResponse(
                DealsStatusErrorOutputSerializer,
                description="The file was refused (nothing changed): bad or missing header, wrong column count, "
                "bad total, quantity or date, empty, not UTF-8, over the size limit, or no `deals` field.",
            ),
        },
        tags=["deals"],
        summary="Replace the data set with an uploaded deals.csv",
    )
    def post(self, request: Request) -> Response:
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
            deals_upload(file=upload.file, user=cast(User, request.user), name=upload.name or "")
        except DealsFileError as exc:
            return _error(exc.message)
        except DataError as exc:  # a value the parser let through but the database refused
            logger.exception("deals: the database refused a validated file")
            return _error(f"The database refused a value in the file: {str(exc).splitlines()[0]}")
        return Response({"Status": "OK"})
