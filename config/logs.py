"""Log lines: human under ``make run``, JSON lines with ``LOG_FORMAT=json`` (production).

One line per request (``requests`` logger, from ``RequestIdMiddleware``) and one
per task outcome (``tasks`` logger, ``config/celery.py``). Both carry their
fields as ``extra`` so the JSON formatter writes them as keys, and both name the
request id (``LOGGING``'s ``request_id`` filter), the task's being the id of the
request that enqueued it.
"""

JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"
JSON_RENAMED = {"levelname": "level", "name": "logger"}


def json_formatter() -> dict:
    """The ``LOGGING`` formatter entry of the JSON lines (python-json-logger): a UTC
    ISO timestamp, level, logger, message, request id and every ``extra`` field;
    non-ASCII text is written as is."""
    return {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": JSON_FIELDS,
        "rename_fields": JSON_RENAMED,
        "timestamp": "time",
        "json_ensure_ascii": False,
    }
