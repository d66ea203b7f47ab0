from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "files"

    def ready(self) -> None:
        from config.backlog import backlog_gauge_register
        from files import checks  # noqa: F401  (registers the system check)
        from files.selectors import file_backlog_counts, file_backlog_oldest_age_seconds

        backlog_gauge_register(
            name="files_waiting",
            documentation="Uploaded files not yet processed, by status",
            read=file_backlog_counts,
            labels=("status",),
        )
        backlog_gauge_register(
            name="files_oldest_waiting_age_seconds",
            documentation="Seconds since the upload of the oldest file still pending or processing (0: none)",
            read=file_backlog_oldest_age_seconds,
        )
