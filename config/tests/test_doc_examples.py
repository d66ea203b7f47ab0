"""Every shell example of README.md and docs/*.md runs as written against a live stack
(scripts/run_doc_examples.py), and the runner itself catches what it should."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import BASE_DIR, SERVICE_VARIABLES, free_port, wait_until

sys.path.insert(0, str(BASE_DIR / "scripts"))
import run_doc_examples as runner

BIN = BASE_DIR / ".venv" / "bin"


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """What `make run` starts, on embedded defaults in a scratch folder and a free port:
    gunicorn with config/gunicorn.py, a Celery worker and beat. Yields (base URL, env)."""
    if not (BIN / "gunicorn").exists():
        pytest.skip("needs the project virtualenv (.venv) that `make` creates")
    var = tmp_path_factory.mktemp("doc-stack")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update({"VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings.base", "WEB_CONCURRENCY": "1"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=180
    )
    web = [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi:application"]
    commands = {
        "web": [*web, "--bind", f"127.0.0.1:{port}"],
        "worker": [str(BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1"],
        "beat": [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO"],
    }
    processes = [
        subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=(var / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, command in commands.items()
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base), timeout=60, interval=0.5)
        yield base, env
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_every_fence_is_labelled_and_every_curl_fails_loudly():
    problems = [problem for path in runner.doc_files() for problem in runner.extract(path)[1]]

    assert problems == []


@pytest.mark.e2e
@pytest.mark.parametrize("path", runner.doc_files(), ids=lambda path: path.name)
def test_doc_examples_run_as_written(stack, path: Path):
    base, env = stack

    outcome = runner.run_file(path, base=base, timeout=300, env=env)

    assert outcome.returncode == 0, outcome.output


# --- The runner catches what it should -----------------------------------------


def _doc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "example.md"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("```\ncurl -fsS $BASE/\n```\n", "fence without a language"),
        ("```sh\ncurl -sS $BASE/\n```\n", "curl without -f hides an HTTP error"),
        ("```bash\ncurl -fs \\\n  $BASE/\n```\n", "curl -s without -S hides a failure"),
        ("```sh\nls | curl -X POST $BASE/ -d @-\n```\n", "curl without -f hides an HTTP error"),
        ("```text output\nhello\n```\n", "an output block must follow a block that runs"),
    ],
)
def test_extract_reports_examples_that_would_hide_a_failure(tmp_path, block, problem):
    _blocks, problems = runner.extract(_doc(tmp_path, block))

    assert len(problems) == 1, problems
    assert problem in problems[0]


def test_not_run_marker_skips_a_block_and_needs_a_reason(tmp_path):
    path = _doc(
        tmp_path, "<!-- not run: starts the stack -->\n```sh\nexit 3\n```\n\n<!-- not run: -->\n```sh\ntrue\n```\n"
    )

    blocks, _problems = runner.extract(path)

    assert [(b.line, b.not_run) for b in blocks] == [(2, "starts the stack"), (7, "")]


def test_blocks_of_a_file_share_one_shell_and_stop_at_the_first_failure(tmp_path):
    path = _doc(tmp_path, "```sh\nX=41\n```\n\n```bash\necho $((X + 1))\nfalse\necho never\n```\n")

    outcome = runner.run_file(path, base="http://127.0.0.1:9", timeout=30)

    assert outcome.returncode == 1
    assert "42" in outcome.output
    assert "never" not in outcome.output
    assert "the failing command is at" in outcome.output
    assert outcome.output.rstrip().endswith(":7")


@pytest.mark.parametrize(
    ("printed", "shown", "ok"), [('{"a": [1, 2]}', '{"a": [1,\n 2]}', True), ('{"a": 1}', '{"a": 2}', False)]
)
def test_an_output_block_is_compared_with_what_its_block_printed(tmp_path, printed, shown, ok):
    path = _doc(tmp_path, f"```sh\necho '{printed}'\n```\n\n```json output\n{shown}\n```\n")

    outcome = runner.run_file(path, base="http://127.0.0.1:9", timeout=30)

    assert (outcome.returncode == 0) is ok, outcome.output


@pytest.mark.e2e
def test_an_http_error_fails_the_file(stack, tmp_path):
    base, env = stack
    path = _doc(tmp_path, "```sh\ncurl -fsS $BASE/health/\ncurl -fsS $BASE/api/no-such-page/\n```\n")

    outcome = runner.run_file(path, base=base, timeout=30, env=env)

    assert outcome.returncode == 22, outcome.output
    assert "404" in outcome.output
