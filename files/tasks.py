"""Celery entry points of files: thin wrappers around the services."""

from celery import shared_task


@shared_task
def file_process_task(file_id: int) -> None:
    from files.services import file_process  # services import this module

    file_process(file_id=file_id)


@shared_task
def file_sweep_task() -> None:
    from files.services import file_sweep

    file_sweep()
