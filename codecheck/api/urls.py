app_name = "codecheck-api"

urlpatterns: list = []
