from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "files"

    def ready(self) -> None:
        from files import checks  # noqa: F401  (registers the system check)
