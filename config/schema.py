"""The one declaration of the API's error answers in the OpenAPI schema.

Views declare their success answers and, where it means something specific to
them, an error with its own description (``OpenApiResponse(description=...)``,
no body schema). This hook then makes every error answer say the same thing the
same way:

- an error a view declared without a body gets the standard body: field errors
  for a 400, ``{"detail": ...}`` for the rest;
- what any endpoint can answer is added where the view did not declare it:
  401 without credentials, 404 for an unknown id or page, 400 for a body or
  query that does not validate, 413 for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
  415 for a body that is not JSON on a JSON-only operation, and 503 (with
  ``Retry-After``) while the database is unreachable; and 414, which the web
  server itself answers to a URL over its request line limit.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "description": 'Field errors `{"field": ["message"]}` or `{"detail": "message"}`.',
}

_STANDARD = {
    "400": "The request is invalid; the body says what to fix.",
    "401": "Authentication credentials were not provided or are invalid.",
    "403": "You do not have permission to perform this action.",
    "404": "No such object, or not yours.",
    "413": "The request body is over the size limit.",
    "415": "The body's media type is not accepted here.",
    "503": "The service is briefly unavailable (database unreachable); retry after `Retry-After` seconds.",
}
# Any URL can be over the web server's request line limit; gunicorn answers this itself, in HTML.
_URI_TOO_LONG = {
    "description": "The URL is over the web server's request line limit (answered by the server, in HTML).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}


def _content(code: str) -> dict:
    component = "ValidationError" if code == "400" else "Error"
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}


def _wanted(path: str, method: str, operation: dict) -> list[str]:
    wanted = ["503"]
    if operation.get("security") != [{}] and {} not in operation.get("security", []):
        wanted.append("401")
    query = {parameter["name"] for parameter in operation.get("parameters", []) if parameter.get("in") == "query"}
    if "{" in path or "page" in query:
        wanted.append("404")
    body = operation.get("requestBody")
    if body or query:
        wanted.append("400")
    if body:
        wanted.append("413")
        if set(body.get("content", {})) == {"application/json"}:
            wanted.append("415")
    return wanted


def _require_body_with_required_fields(operation: dict) -> None:
    """A body given as a raw schema (not a serializer) is marked required when it has
    required fields, as drf-spectacular does for serializers."""
    body = operation.get("requestBody")
    if body and not body.get("required"):
        schemas = [media.get("schema", {}) for media in body.get("content", {}).values()]
        if schemas and all(schema.get("required") for schema in schemas):
            body["required"] = True


def add_standard_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            _require_body_with_required_fields(operation)
            responses = operation.setdefault("responses", {})
            responses.setdefault("414", _URI_TOO_LONG)
            for code in _wanted(path, method, operation):
                responses.setdefault(code, {"description": _STANDARD[code]})
            for code, response in responses.items():
                if code[0] in "45" and "content" not in response:
                    response["content"] = _content(code)
                if code == "503":
                    response.setdefault("headers", _RETRY_AFTER)
    return result


# --- Idempotent writes (config/idempotency.py): what each operation that honours
# Idempotency-Key adds to its extend_schema (parameters and responses).
IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        "Idempotency-Key",
        # No space at either end: a web server strips those from a header value.
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
        OpenApiParameter.HEADER,
        description="Makes a retried POST safe: the same key (per user and endpoint, for 24 hours) with the same "
        "body replays the first answer, whatever it was, and does nothing again. 1-255 printable ASCII characters.",
    ),
    OpenApiParameter(
        "Idempotent-Replayed",
        {"type": "string", "enum": ["true"]},
        OpenApiParameter.HEADER,
        response=[201, 400],
        description="`true` when this is the stored answer of an earlier request with the same Idempotency-Key.",
    ),
]
IDEMPOTENCY_RESPONSES = {
    409: OpenApiResponse(
        description="A request with this Idempotency-Key is still running; retry once it has finished."
    ),
    422: OpenApiResponse(description="This Idempotency-Key was used with a different body; use a new key."),
}
