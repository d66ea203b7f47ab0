"""Byte-range answers (RFC 9110 section 14) for stored files: 206 for one
satisfiable range, 416 for none, the whole file otherwise."""

from dataclasses import dataclass
from http import HTTPStatus

from django.http import FileResponse
from rest_framework.request import Request
from rest_framework.response import Response
from werkzeug.http import parse_range_header


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive


UNSATISFIABLE = ByteRange(-1, -1)


def requested_range(request: Request, size: int) -> ByteRange | None:
    """The one range to answer, ``UNSATISFIABLE``, or None for the whole file.

    A missing or malformed ``Range`` is ignored, as the RFC asks. Several ranges
    get the whole file (allowed; a multipart/byteranges body is rarely worth its
    cost). ``If-Range`` also gets the whole file: these answers carry no
    validator it could match."""
    header = request.headers.get("Range")
    if not header or "If-Range" in request.headers:
        return None
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    # Werkzeug parsed it: 0 <= start < stop, or a suffix (start < 0, stop None).
    # Not Range.range_for_length: it refuses a suffix longer than the file, which
    # RFC 9110 (14.1.2) says means the whole file.
    start, stop = parsed.ranges[0]
    if stop is None:
        start, stop = (max(size + start, 0) if start < 0 else start), size
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, min(stop, size))


class _Slice:
    """At most ``length`` bytes of ``stream`` from its current position."""

    def __init__(self, stream, length: int):
        self.stream = stream
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.stream.close()


def ranged_file_response(
    request: Request, stream, *, size: int, filename: str, content_type: str
) -> FileResponse | Response:
    """The whole file (200), the requested bytes (206) or 416, always as an
    attachment. ``stream`` is an open binary file of ``size`` bytes."""
    byte_range = requested_range(request, size)
    if byte_range is UNSATISFIABLE:
        stream.close()
        return Response(
            {"detail": f"The requested range is not satisfiable: the file has {size} bytes."},
            status=HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
            headers={"Content-Range": f"bytes */{size}"},
        )
    if byte_range is None:
        response = FileResponse(stream, as_attachment=True, filename=filename, content_type=content_type)
    else:
        length = byte_range.stop - byte_range.start
        stream.seek(byte_range.start)
        response = FileResponse(
            _Slice(stream, length),
            as_attachment=True,
            filename=filename,
            content_type=content_type,
            status=HTTPStatus.PARTIAL_CONTENT,
        )
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.stop - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
