app_name = "deals-api"

urlpatterns: list = []
