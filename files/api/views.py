"""Upload a file, list and read files with their processing status, delete, download."""

from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from files.api.serializers import FileOutputSerializer, FileUploadInputSerializer
from files.models import File
from files.selectors import FileFilter, file_get, file_list
from files.services import file_delete, file_upload
from files.upload_handlers import SizeLimitUploadHandler

_401 = OpenApiResponse(description="Not logged in.")
_404 = OpenApiResponse(description="No such file among yours.")
TAGS = ["files"]
UPLOAD_CHUNK_BYTES = 1024 * 1024


class FileUploadApi(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (session auth's CSRF check may): the size
        # limit is enforced while the upload streams, small files stay in memory,
        # larger ones go to a temporary file.
        handlers = [
            SizeLimitUploadHandler(request),
            MemoryFileUploadHandler(request),
            TemporaryFileUploadHandler(request),
        ]
        for handler in handlers:
            # Django's 64 KB default makes multipart parsing CPU-bound; bigger chunks parse faster.
            handler.chunk_size = UPLOAD_CHUNK_BYTES
        request.upload_handlers = handlers
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": FileUploadInputSerializer},
        responses={
            201: FileOutputSerializer,
            400: OpenApiResponse(description="No `file` field, an empty file, or a malformed multipart body."),
            401: _401,
            413: OpenApiResponse(description="The file is over the upload limit (FILES_MAX_UPLOAD_BYTES)."),
            415: OpenApiResponse(description="The body is not multipart/form-data."),
        },
        tags=TAGS,
        summary="Upload a file; it is processed asynchronously",
    )
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
            401: _401,
            404: OpenApiResponse(description="No such page."),
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
    get=extend_schema(responses={200: FileOutputSerializer, 401: _401, 404: _404}, tags=TAGS),
    delete=extend_schema(
        responses={204: OpenApiResponse(description="Deleted, with its stored file."), 401: _401, 404: _404},
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


class FileDownloadApi(APIView):
    @extend_schema(
        responses={(200, "*/*"): OpenApiTypes.BINARY, 401: _401, 404: _404},
        tags=TAGS,
        summary="Download the file as an attachment, under its original name",
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        file = _get_or_404(request, pk)
        try:
            stream = file.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return FileResponse(stream, as_attachment=True, filename=file.original_name, content_type=file.content_type)


class FileThumbnailApi(APIView):
    @extend_schema(
        responses={(200, "image/png"): OpenApiTypes.BINARY, 401: _401, 404: _404},
        tags=TAGS,
        summary="The PNG thumbnail of a processed image",
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        file = _get_or_404(request, pk)
        if not file.thumbnail:
            raise Http404
        try:
            stream = file.thumbnail.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        return FileResponse(stream, content_type="image/png")
