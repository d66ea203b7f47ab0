"""The filesystem broker under concurrent publishers and consumers (config/broker.py)."""

import multiprocessing
from pathlib import Path

from kombu import Connection

PUBLISHERS, CONSUMERS, MESSAGES = 3, 3, 300
# Bodies large enough that writing one takes several system calls.
PADDING = "x" * 200_000


def _connection(folder: Path, transport: str) -> Connection:
    options = {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "polling_interval": 0.001,
    }
    return Connection("filesystem://localhost/", transport=transport, transport_options=options)


def _publish(folder: Path, transport: str, first: int) -> None:
    with _connection(folder, transport) as conn:
        queue = conn.SimpleQueue("jobs")
        for number in range(first, first + MESSAGES):
            queue.put({"number": number, "padding": PADDING})


def _consume(folder: Path, transport: str, seen, errors) -> None:
    with _connection(folder, transport) as conn:
        queue = conn.SimpleQueue("jobs")
        while True:
            try:
                message = queue.get(timeout=3)
            except queue.Empty:
                return
            except Exception as exc:
                errors.append(repr(exc))
                continue
            seen.append(message.payload["number"])
            message.ack()


def _run(folder: Path, transport: str) -> tuple[list[int], list[str]]:
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True)
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        seen, errors = manager.list(), manager.list()
        consumers = [context.Process(target=_consume, args=(folder, transport, seen, errors)) for _ in range(CONSUMERS)]
        publishers = [
            context.Process(target=_publish, args=(folder, transport, i * MESSAGES)) for i in range(PUBLISHERS)
        ]
        for process in consumers + publishers:
            process.start()
        for process in publishers + consumers:
            process.join(120)
        return list(seen), list(errors)


def test_every_message_is_delivered_once_and_whole(tmp_path):
    """kombu's own "filesystem" transport fails this (hundreds of empty reads)."""
    seen, errors = _run(tmp_path, "config.broker:Transport")

    assert errors == []
    assert sorted(seen) == list(range(PUBLISHERS * MESSAGES))
