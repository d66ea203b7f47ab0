"""Web form: one file field, used for uploads and replacements."""

from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(label="Python file (.py)", allow_empty_file=True)
