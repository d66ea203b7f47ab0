from django.urls import path

from codecheck.api import views

app_name = "codecheck-api"

urlpatterns = [
    path("files/", views.FileListApi.as_view(), name="file-list"),
    path("files/<int:pk>/", views.FileDetailApi.as_view(), name="file-detail"),
    path("files/<int:pk>/checks/", views.FileChecksApi.as_view(), name="file-checks"),
    path("checks/", views.CheckListApi.as_view(), name="check-list"),
    path("checks/<int:pk>/sarif/", views.CheckSarifApi.as_view(), name="check-sarif"),
]
