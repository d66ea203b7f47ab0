from django.urls import path

from files.api.views import (
    FileDetailApi,
    FileDownloadApi,
    FileListApi,
    FileSignedApi,
    FileThumbnailApi,
    FileUploadApi,
)

app_name = "files-api"

urlpatterns = [
    path("upload/", FileUploadApi.as_view(), name="upload"),
    path("files/", FileListApi.as_view(), name="file-list"),
    path("files/<int:pk>/", FileDetailApi.as_view(), name="file-detail"),
    path("files/<int:pk>/download/", FileDownloadApi.as_view(), name="file-download"),
    path("files/<int:pk>/thumbnail/", FileThumbnailApi.as_view(), name="file-thumbnail"),
    path("files/signed/<str:token>/", FileSignedApi.as_view(), name="file-signed"),
]
