from django.apps import AppConfig


class CodecheckConfig(AppConfig):
    name = "codecheck"

    def ready(self) -> None:
        from codecheck.selectors import check_email_unsent_count, code_file_waiting_count
        from config.backlog import backlog_gauge_register

        backlog_gauge_register(
            name="codecheck_files_waiting",
            documentation="Code files whose current version waits for a check",
            read=code_file_waiting_count,
        )
        backlog_gauge_register(
            name="codecheck_report_emails_unsent",
            documentation="Check reports not emailed yet",
            read=check_email_unsent_count,
        )
