from django.apps import AppConfig


class CodecheckConfig(AppConfig):
    name = "codecheck"
