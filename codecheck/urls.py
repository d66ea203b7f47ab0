app_name = "codecheck"

urlpatterns: list = []
