app_name = "files-api"

urlpatterns: list = []
