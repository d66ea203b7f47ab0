"""The API's JSON parser: bounded in size and in nesting depth.

DRF's parser hands the body to ``json.load`` as it comes: a body of 50,000 ``[``
ends in a ``RecursionError`` (a 500) and a body of any size is read whole. Here
a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 before it is parsed, and one
nested deeper than ``API_JSON_MAX_DEPTH`` is a 400 that says so.
"""

from collections.abc import Iterable

from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        super().__init__(f"The request body is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


def json_depth_message() -> str:
    return f"JSON parse error - nested deeper than {settings.API_JSON_MAX_DEPTH} levels."


def _depth(value: object) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if request is not None and limit is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise RequestBodyTooLarge()
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestBodyTooLarge()
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = body.decode(encoding)
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError as exc:
            raise exceptions.ParseError(json_depth_message()) from exc
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both are
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if _depth(data) > settings.API_JSON_MAX_DEPTH:
            raise exceptions.ParseError(json_depth_message())
        return data
