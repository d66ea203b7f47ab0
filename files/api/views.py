"""Upload a file, list and read files with their processing status, delete, and links to download."""

from django.http import Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.idempotency import idempotent
from config.schema import IDEMPOTENCY_PARAMETERS, IDEMPOTENCY_RESPONSES
from files.api.ranges import ranged_file_response
from files.api.serializers import FileOutputSerializer, FileUploadInputSerializer
from files.models import File
from files.selectors import FileFilter, file_get, file_list
from files.services import file_delete, file_upload
from files.services.links import signed_link, signed_link_read
from files.upload_handlers import (
    HashingMemoryFileUploadHandler,
    HashingTemporaryFileUploadHandler,
    SizeLimitUploadHandler,
)

TAGS = ["files"]
UPLOAD_CHUNK_BYTES = 1024 * 1024


class FileUploadApi(APIView):
    parser_classes = [MultiPartParser]
    serializer_class = FileUploadInputSerializer  # the browsable API's upload form

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (session auth's CSRF check may): the size
        # limit is enforced while the upload streams, small files stay in memory,
        # larger ones go to a temporary file, and each is hashed as it arrives.
        handlers = [
            SizeLimitUploadHandler(request),
            HashingMemoryFileUploadHandler(request),
            HashingTemporaryFileUploadHandler(request),
        ]
        for handler in handlers:
            # Django's 64 KB default makes multipart parsing CPU-bound; bigger chunks parse faster.
            handler.chunk_size = UPLOAD_CHUNK_BYTES
        request.upload_handlers = handlers
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": FileUploadInputSerializer},
        parameters=IDEMPOTENCY_PARAMETERS,
        responses={
            201: FileOutputSerializer,
            400: OpenApiResponse(
                description="No `file` field, an empty file, a malformed multipart body or Idempotency-Key."
            ),
            413: OpenApiResponse(description="The file is over the upload limit (FILES_MAX_UPLOAD_BYTES)."),
            415: OpenApiResponse(description="The body is not multipart/form-data."),
            **IDEMPOTENCY_RESPONSES,
        },
        tags=TAGS,
        summary="Upload a file; it is processed asynchronously",
    )
    @idempotent("files.upload")
    def post(self, request: Request) -> Response:
        data = FileUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        file = file_upload(owner=request.user, upload=data.validated_data["file"])
        return Response(FileOutputSerializer(file, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        responses={
            200: FileOutputSerializer(many=True),
            400: OpenApiResponse(description="A filter value is not one of the choices."),
        },
        tags=TAGS,
        summary="Your files with their processing status (staff: everyone's)",
    )
)
class FileListApi(generics.ListAPIView):
    serializer_class = FileOutputSerializer
    filterset_class = FileFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return File.objects.none()
        return file_list(user=self.request.user)


@extend_schema_view(
    get=extend_schema(responses={200: FileOutputSerializer}, tags=TAGS),
    delete=extend_schema(
        responses={204: OpenApiResponse(description="Deleted, with its stored file.")},
        tags=TAGS,
    ),
)
class FileDetailApi(generics.RetrieveDestroyAPIView):
    serializer_class = FileOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return File.objects.none()
        return file_list(user=self.request.user)

    def perform_destroy(self, instance: File) -> None:
        file_delete(file=instance)


def _get_or_404(request: Request, pk: int) -> File:
    file = file_get(user=request.user, pk=pk)
    if file is None:
        raise Http404
    return file


RANGE_PARAMETER = OpenApiParameter(
    "Range",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "One byte range (`bytes=0-99`, `bytes=100-`, `bytes=-100`) is answered with 206. "
        "Several ranges, a malformed header or `If-Range` get the whole file (200)."
    ),
)
REDIRECT = {
    302: OpenApiResponse(
        description=(
            "`Location` is a link to the bytes, valid for FILES_SIGNED_URL_SECONDS: on this site "
            "(`/api/files/signed/<token>/`) with local storage, presigned on the bucket with S3. "
            "Either way the bytes come as an attachment and `Range` is honoured there."
        ),
        response=None,
    ),
    401: OpenApiResponse(description="Not logged in."),
    404: OpenApiResponse(description="No such file of yours (or, for the thumbnail, it has none)."),
}


LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI_REF,
    OpenApiParameter.HEADER,
    description="The signed link: a path on this site, or a presigned URL on the object store.",
    response=[302],
)


def _redirect(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    # The link is personal and short-lived: no cache may keep or share it.
    response["Cache-Control"] = "private, no-store"
    return response


class FileDownloadApi(APIView):
    @extend_schema(
        parameters=[LOCATION_HEADER],
        responses=REDIRECT,
        tags=TAGS,
        summary="A short-lived link to the file (302), served as an attachment under its original name",
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        file = _get_or_404(request, pk)
        return _redirect(signed_link(field=file.file, filename=file.original_name, content_type=file.content_type))


class FileThumbnailApi(APIView):
    @extend_schema(
        parameters=[LOCATION_HEADER],
        responses=REDIRECT,
        tags=TAGS,
        summary="A short-lived link to the PNG thumbnail of a processed image (302)",
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        file = _get_or_404(request, pk)
        if not file.thumbnail:
            raise Http404
        name = f"{file.original_name.rpartition('.')[0] or file.original_name}.thumbnail.png"
        return _redirect(signed_link(field=file.thumbnail, filename=name, content_type="image/png"))


class FileSignedApi(APIView):
    """The bytes behind a signed link (local storage). The signature is the
    credential: no login, so a browser or ``curl -L`` can follow the redirect."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        parameters=[RANGE_PARAMETER],
        responses={
            (200, "*/*"): OpenApiTypes.BINARY,
            (206, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The requested bytes, with `Content-Range: bytes first-last/size`."
            ),
            403: OpenApiResponse(description="The link was tampered with or has expired."),
            404: OpenApiResponse(description="The stored bytes are gone (the file was deleted)."),
            416: OpenApiResponse(description="The range starts beyond the end; `Content-Range: bytes */size`."),
        },
        tags=TAGS,
        summary="The bytes behind a signed download or thumbnail link, as an attachment",
    )
    def get(self, request: Request, token: str) -> HttpResponseBase:
        blob = signed_link_read(token=token)
        storage = File._meta.get_field("file").storage
        try:
            stream = storage.open(blob.name, "rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return ranged_file_response(
            request, stream, size=stream.size, filename=blob.filename, content_type=blob.content_type
        )
