import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from codecheck.services import upload_read
from config.errors import ApplicationError


@pytest.mark.parametrize(
    "data",
    [
        b"x = 1\n",
        "# -*- coding: cp1251 -*-\nname = 'Привет'\n".encode("cp1251"),
        b"# coding: rot13\nx = 1\n",  # a bytes-to-bytes codec is no text encoding; the bytes are UTF-8
        b"# coding: base64\nx = 1\n",
    ],
)
def test_python_source_that_reads_as_text_is_accepted(data):
    assert upload_read(upload=SimpleUploadedFile("a.py", data)).data == data


@pytest.mark.parametrize(
    "data",
    [
        b"# coding: rot13\nname = '\xff\xfe'\n",
        b"# coding: hex\nname = '\xc3\x28'\n",
        b"name = '\xff'\n",
    ],
)
def test_source_that_reads_as_text_in_neither_declared_nor_utf8_is_refused(data):
    with pytest.raises(ApplicationError) as raised:
        upload_read(upload=SimpleUploadedFile("a.py", data))

    assert raised.value.code == "not_text"
