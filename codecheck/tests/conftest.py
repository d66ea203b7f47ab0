"""codecheck fixtures: sample files, uploads, a real checker process."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from codecheck.runner import checker_from_settings

SAMPLES = Path(__file__).resolve().parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.py.txt").read_bytes()


def upload(name: str = "module.py", data: bytes = b"import os\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/x-python")


@pytest.fixture(scope="module")
def checker():
    """A real long-lived checker process, shared by a module's tests."""
    process = checker_from_settings()
    yield process
    process.close()
