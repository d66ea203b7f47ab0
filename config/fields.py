"""Serializer fields that accept exactly what the schema says they accept.

DRF's ``CharField`` also takes numbers (``0`` becomes ``"0"``), trims spaces and
refuses NUL characters; the schema drf-spectacular derives says only "a string
of at least one character". These fields refuse what is not a string and carry
their other rules as a pattern, which the schema then shows.
"""

from django.core.validators import RegexValidator
from rest_framework import serializers

NO_NUL = r"^[^\x00]*$"
# At least one character that trimming leaves, and no NUL.
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"


class TextField(serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        blank_ok = self.allow_blank or not self.trim_whitespace
        self.validators.append(RegexValidator(NO_NUL if blank_ok else NOT_BLANK))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
