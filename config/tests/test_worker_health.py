"""``manage.py worker_health``: a worker container's healthcheck asks that very worker
to run a task."""

import os
import signal

import pytest
from django.core.management import CommandError, call_command

from conftest import CeleryWorker


@pytest.fixture
def direct_worker(settings, monkeypatch, transactional_db, redis_url, tmp_path):
    from config.celery import app

    settings.CELERY_WORKER_DIRECT = True
    monkeypatch.setenv("CELERY_WORKER_DIRECT", "1")
    app.control.purge()
    worker = CeleryWorker(broker_url=str(app.conf.broker_url), log_path=tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()


@pytest.mark.e2e
def test_the_named_worker_runs_the_ping_and_no_other_answers_for_it(direct_worker, capsys):
    call_command("worker_health", node=direct_worker.name, timeout=10)

    assert f"{direct_worker.name} ran a ping task" in capsys.readouterr().out
    with pytest.raises(CommandError, match="celery@elsewhere ran no ping task within 1s"):
        call_command("worker_health", node="celery@elsewhere", timeout=1)


@pytest.mark.e2e
def test_a_worker_that_stopped_consuming_fails_until_it_consumes_again(direct_worker):
    group = os.getpgid(direct_worker.process.pid)
    os.killpg(group, signal.SIGSTOP)  # the process stays up, nothing consumes
    try:
        with pytest.raises(CommandError):
            call_command("worker_health", node=direct_worker.name, timeout=2)
    finally:
        os.killpg(group, signal.SIGCONT)

    call_command("worker_health", node=direct_worker.name, timeout=10)


def test_refuses_without_direct_queues(settings):
    settings.CELERY_WORKER_DIRECT = False

    with pytest.raises(CommandError, match="CELERY_WORKER_DIRECT is off"):
        call_command("worker_health", node="celery@x", timeout=1)
