"""The partner API: upload, overwrite, delete and list files; read their checks."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codecheck.api.serializers import (
    CheckFilterSerializer,
    CheckOutputSerializer,
    CodeFileOutputSerializer,
    CodeFileUploadInputSerializer,
)
from codecheck.review import SARIF_CONTENT_TYPE, check_sarif
from codecheck.selectors import (
    check_get,
    check_list,
    check_list_for_file,
    code_file_get,
    code_file_list,
)
from codecheck.services import code_file_delete, code_file_overwrite, code_file_upload
from config.pagination import PageNumberPagination, paginated_response

_400 = OpenApiResponse(description="Not a .py file, not text, or no file sent; the body says which.")
_413 = OpenApiResponse(description="The file is over CODECHECK_MAX_UPLOAD_BYTES.")
_415 = OpenApiResponse(description="The body is not multipart/form-data.")


class FileListApi(APIView):
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: CodeFileOutputSerializer(many=True)}, tags=["codecheck"])
    def get(self, request: Request) -> Response:
        return paginated_response(self, request, code_file_list(user=request.user), CodeFileOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": CodeFileUploadInputSerializer},
        responses={
            201: CodeFileOutputSerializer,
            200: OpenApiResponse(CodeFileOutputSerializer, description="An active file of this name was overwritten."),
            400: _400,
            413: _413,
            415: _415,
        },
        tags=["codecheck"],
        description="Upload a .py file. A file named like one of your active files overwrites it (version + 1).",
    )
    def post(self, request: Request) -> Response:
        data = CodeFileUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code_file, created = code_file_upload(owner=request.user, upload=data.validated_data["file"])
        return Response(
            CodeFileOutputSerializer(code_file).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class FileDetailApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: CodeFileOutputSerializer}, tags=["codecheck"])
    def get(self, request: Request, pk: int) -> Response:
        return Response(CodeFileOutputSerializer(code_file_get(user=request.user, pk=pk)).data)

    @extend_schema(
        request={"multipart/form-data": CodeFileUploadInputSerializer},
        responses={200: CodeFileOutputSerializer, 400: _400, 413: _413, 415: _415},
        tags=["codecheck"],
        description="Overwrite the file's content with a new upload; its name stays, its version goes up.",
    )
    def put(self, request: Request, pk: int) -> Response:
        data = CodeFileUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code_file = code_file_overwrite(user=request.user, pk=pk, upload=data.validated_data["file"])
        return Response(CodeFileOutputSerializer(code_file).data)

    @extend_schema(
        responses={204: OpenApiResponse(description="Deleted; its checks stay.")},
        tags=["codecheck"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        code_file_delete(user=request.user, pk=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileChecksApi(APIView):
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    @extend_schema(responses={200: CheckOutputSerializer(many=True)}, tags=["codecheck"])
    def get(self, request: Request, pk: int) -> Response:
        code_file = code_file_get(user=request.user, pk=pk)
        return paginated_response(self, request, check_list_for_file(code_file=code_file), CheckOutputSerializer)


class CheckListApi(APIView):
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    @extend_schema(
        parameters=[
            OpenApiParameter("passed", OpenApiTypes.BOOL, description="Only passed (true) or failed (false) checks."),
            OpenApiParameter("email_sent", OpenApiTypes.BOOL, description="Only checks whose report was (not) sent."),
        ],
        responses={
            200: CheckOutputSerializer(many=True),
            400: OpenApiResponse(description="A filter is not a boolean."),
        },
        tags=["codecheck"],
    )
    def get(self, request: Request) -> Response:
        filters = CheckFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        checks = check_list(user=request.user, **filters.validated_data)
        return paginated_response(self, request, checks, CheckOutputSerializer)


class SarifRenderer(JSONRenderer):
    media_type = SARIF_CONTENT_TYPE
    format = "sarif"


_SARIF_200 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A SARIF 2.1.0 log: one run of flake8 (with its version), one result per finding. "
    "`level` is `error` for E9 (could not parse or read the file) and F (pyflakes) codes, "
    "`warning` for the rest. The same document is `application/json` when only that is acceptable.",
)


class CheckSarifApi(APIView):
    renderer_classes = [SarifRenderer, JSONRenderer]

    @extend_schema(
        responses={
            (200, SARIF_CONTENT_TYPE): _SARIF_200,
            (200, "application/json"): _SARIF_200,
            404: OpenApiResponse(description="No such check, or not yours."),
        },
        tags=["codecheck"],
        description="The check as a SARIF 2.1.0 log, for code-scanning tools.",
    )
    def get(self, request: Request, pk: int) -> Response:
        check = check_get(user=request.user, pk=pk)
        return Response(check_sarif(file_name=check.file_name, findings=check.finding_list))

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep DRF's JSON body and say so in their content type.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)
