import logging

import pytest
from django.db import transaction

from config.celery import Task, app


@app.task(name="config.tests.noop")
def noop():
    return None


def test_tasks_use_the_project_task_class():
    assert isinstance(noop, Task)


def test_delay_on_commit_waits_for_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        noop.delay_on_commit()

    assert len(callbacks) == 1


def test_delay_on_commit_survives_a_dead_broker(transactional_db, broker_down, caplog):
    """A publish that fails after commit is logged, not raised into the caller."""
    with caplog.at_level(logging.WARNING), transaction.atomic():
        noop.delay_on_commit()

    assert any("could not publish config.tests.noop" in r.getMessage() for r in caplog.records)


def test_publish_quietly_reports_success(redis_url):
    assert noop.publish_quietly() is True
    app.control.purge()


@pytest.mark.e2e
def test_worker_fixture_answers_ping(celery_worker):
    assert app.control.ping(destination=[celery_worker.name], timeout=2)
