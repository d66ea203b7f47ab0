"""gunicorn's start-up hooks warm the app and freeze start-up objects; importing the app does neither."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
import config.wsgi
print(gc.get_freeze_count(), "orders.api.views" in sys.modules)
"""
HOOK = """
import gc, logging, sys, types
import config.wsgi, config.gunicorn
cfg = types.SimpleNamespace(preload_app={preload}, address=[("127.0.0.1", 8000)])
config.gunicorn.when_ready(types.SimpleNamespace(cfg=cfg, log=logging.getLogger("gunicorn.error")))
print(gc.get_freeze_count(), "orders.api.views" in sys.modules)
"""


def _run(code: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_importing_the_wsgi_app_freezes_nothing_and_resolves_nothing():
    frozen, resolved = _run(PROBE).split()

    assert (frozen, resolved) == ("0", "False")


def test_the_ready_hook_of_a_preloading_master_loads_the_views_and_freezes_the_app():
    frozen, resolved = _run(HOOK.format(preload=True)).split()

    assert (int(frozen) > 10_000, resolved) == (True, "True")


def test_without_preloading_the_master_leaves_it_to_the_workers():
    assert _run(HOOK.format(preload=False)).split() == ["0", "False"]
