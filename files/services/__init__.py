"""Writes of files: upload, processing, sweeping, deletion."""

from files.services.processing import file_process, file_sweep
from files.services.uploads import file_delete, file_upload

__all__ = ["file_delete", "file_process", "file_sweep", "file_upload"]
