from django.urls import path

from codecheck import views

app_name = "codecheck"

urlpatterns = [
    path("", views.file_list, name="file-list"),
    path("upload/", views.file_upload, name="file-upload"),
    path("files/<int:pk>/", views.file_detail, name="file-detail"),
    path("files/<int:pk>/replace/", views.file_replace, name="file-replace"),
    path("files/<int:pk>/delete/", views.file_delete, name="file-delete"),
    path("checks/", views.check_history, name="check-list"),
    path("checks/<int:pk>/", views.check_detail, name="check-detail"),
]
