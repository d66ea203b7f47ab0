"""OpenAPI post-processing: document the error responses DRF really returns everywhere.

Views document their own success and business errors; what every endpoint can
answer anyway (401 without credentials, 400 for a body that does not validate,
404 for an unknown id) is added here once. A 415 is left to each view: deals
answers every bad upload, whatever its media type, in its own 400 shape.
"""

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
    "401": ("Authentication credentials were not provided or are invalid.", "Error"),
    "400": ("The request is invalid; the body says what to fix.", "ValidationError"),
    "403": ("You do not have permission to perform this action.", "Error"),
    "404": ("No such object, or not yours.", "Error"),
}


def _response(description: str, component: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
    }


def add_standard_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            wanted = []
            if operation.get("security") != [{}] and {} not in operation.get("security", []):
                wanted.append("401")
            if "{" in path:
                wanted.append("404")
            if method in ("post", "put", "patch"):
                wanted.append("400")
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
                wanted.append("400")
            for code in wanted:
                responses.setdefault(code, _response(*_STANDARD[code]))
    return result
