"""scripts/supervisor.py on its own: the port check and processes that keep crashing."""

import os
import socket
import subprocess
import sys

from conftest import BASE_DIR, free_port

sys.path.insert(0, str(BASE_DIR / "scripts"))
from supervisor import metrics_dir_reset, port_is_free


def test_a_port_shared_with_so_reuseport_counts_as_busy():
    """gunicorn's workers listen with SO_REUSEPORT: a plain bind still sees them."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert port_is_free(port) is False
    assert port_is_free(port) is True


def test_a_crash_looping_flower_is_left_stopped_and_anything_else_stops_all(tmp_path):
    port = free_port()
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"web: {sys.executable} -m http.server ${{PORT}} --bind 127.0.0.1\n"
        "flower: sh -c 'exit 3'\n"
        "beat: sh -c 'sleep 0.5; exit 4'\n"
    )
    env = dict(os.environ, PORT=str(port), FLOWER_PORT=str(free_port()))

    finished = subprocess.run(
        [sys.executable, "scripts/supervisor.py", "--procfile", str(procfile)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 1
    assert finished.stdout.count("flower exited with code 3; restarting it") == 4
    assert "WARNING: flower exited with code 3 and keeps failing; left stopped, the rest runs on" in finished.stdout
    assert "ERROR: beat exited with code 4 and keeps failing at start; stopping everything" in finished.stdout
    assert f"Serving on http://127.0.0.1:{port}/" in finished.stdout
    assert port_is_free(port)  # web was stopped with the rest


def test_metrics_folder_starts_empty_and_is_shared(tmp_path):
    stale = tmp_path / "metrics" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old samples")
    env = {"VAR_DIR": str(tmp_path)}

    path = metrics_dir_reset(env)

    assert (path, list(path.iterdir()), env["PROMETHEUS_MULTIPROC_DIR"]) == (stale.parent, [], str(stale.parent))


def test_a_busy_port_leaves_the_running_systems_metrics_alone(tmp_path):
    samples = tmp_path / "metrics" / "counter_123.db"
    samples.parent.mkdir()
    samples.write_bytes(b"the running system's samples")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = dict(os.environ, PORT=str(listener.getsockname()[1]), VAR_DIR=str(tmp_path))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)

        finished = subprocess.run(
            [sys.executable, "scripts/supervisor.py"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )

    assert finished.returncode == 1
    assert f"Port {env['PORT']} on 127.0.0.1 is already in use" in finished.stderr
    assert samples.read_bytes() == b"the running system's samples"
