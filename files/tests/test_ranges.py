"""Range requests on downloads and thumbnails (served by the signed link the API redirects to):
the test client for edge cases, curl against a live server."""

import os
import subprocess
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from files.services import file_process
from files.tests.factories import FileFactory
from files.tests.samples import image_bytes

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40  # 10 240 bytes, each offset recognisable
SIZE = len(DATA)


def download(pk: int) -> str:
    return reverse("files-api:file-download", kwargs={"pk": pk})


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-199", 100, 200),
        ("bytes=0-0", 0, 1),
        ("bytes=10000-", 10000, SIZE),
        ("bytes=-500", SIZE - 500, SIZE),
        ("bytes=-100000", 0, SIZE),  # a suffix longer than the file: all of it
        ("bytes=10200-99999", 10200, SIZE),  # the end is clamped to the last byte
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE),
    ],
)
def test_one_range_is_206_with_those_bytes(auth_client, user, header, start, stop):
    file = FileFactory(owner=user, data=DATA, original_name="data.bin", content_type="application/octet-stream")

    response = auth_client.get(download(file.pk), follow=True, HTTP_RANGE=header)

    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert response["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert response["Content-Length"] == str(stop - start)
    assert response["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert response["Content-Type"] == "application/octet-stream"
    assert body(response) == DATA[start:stop]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=99999-"])
def test_a_range_beyond_the_end_is_416(auth_client, user, header):
    file = FileFactory(owner=user, data=DATA)

    response = auth_client.get(download(file.pk), follow=True, HTTP_RANGE=header)

    assert response.status_code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response.json() == {"detail": f"The requested range is not satisfiable: the file has {SIZE} bytes."}


@pytest.mark.parametrize(
    ("headers"),
    [
        {},
        {"HTTP_RANGE": "bytes=0-9,20-29"},  # several ranges: the whole file
        {"HTTP_RANGE": "bytes=9-2"},  # malformed: ignored
        {"HTTP_RANGE": "bytes=abc"},
        {"HTTP_RANGE": "lines=0-9"},
        {"HTTP_RANGE": ""},
        {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": '"some-etag"'},  # no validator to match
    ],
)
def test_other_requests_get_the_whole_file(auth_client, user, headers):
    file = FileFactory(owner=user, data=DATA)

    response = auth_client.get(download(file.pk), follow=True, **headers)

    assert response.status_code == HTTPStatus.OK
    assert (response["Accept-Ranges"], response["Content-Length"]) == ("bytes", str(SIZE))
    assert "Content-Range" not in response
    assert body(response) == DATA


def test_a_range_of_the_thumbnail(auth_client, user):
    file = FileFactory(owner=user, data=image_bytes(size=(512, 128)), kind="image", content_type="image/png")
    file_process(file_id=file.pk)
    file.refresh_from_db()
    with file.thumbnail.open("rb") as stream:
        png = stream.read()

    response = auth_client.get(
        reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}), follow=True, HTTP_RANGE="bytes=-8"
    )

    assert response.status_code == HTTPStatus.PARTIAL_CONTENT
    assert response["Content-Range"] == f"bytes {len(png) - 8}-{len(png) - 1}/{len(png)}"
    assert response["Content-Disposition"].startswith("attachment;")
    assert body(response) == png[-8:]


def test_another_users_file_is_404_with_a_range(other_client, user):
    file = FileFactory(owner=user, data=DATA)

    response = other_client.get(download(file.pk), HTTP_RANGE="bytes=0-9")

    assert response.status_code == HTTPStatus.NOT_FOUND


def curl(url: str, token: str, *args: str) -> tuple[int, dict[str, str], bytes]:
    """GET with curl, following the redirect to the signed link; the last answer's
    status, headers (lowercased names) and body."""
    result = subprocess.run(
        ["curl", "-sSL", "-D", "-", "-H", f"Authorization: Bearer {token}", *args, url],
        capture_output=True,
        check=True,
        timeout=30,
    )
    head, _, payload = result.stdout.partition(b"\r\n\r\n")
    while payload.startswith(b"HTTP/"):  # -L: the redirect's headers come first, the last answer's last
        head, _, payload = payload.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, payload


@pytest.mark.parametrize(
    ("curl_range", "start", "stop"),
    [("0-99", 0, 100), ("1000-", 1000, 300_000), ("-4096", 300_000 - 4096, 300_000), ("123-45678", 123, 45679)],
)
def test_curl_gets_the_right_bytes_from_a_live_server(live_server, user, curl_range, start, stop):
    data = os.urandom(300_000)
    file = FileFactory(owner=user, data=data)
    token = str(RefreshToken.for_user(user).access_token)

    status, headers, payload = curl(f"{live_server.url}{download(file.pk)}", token, "-r", curl_range)

    assert status == HTTPStatus.PARTIAL_CONTENT
    assert headers["content-range"] == f"bytes {start}-{stop - 1}/{len(data)}"
    assert payload == data[start:stop]


def test_curl_resumes_a_download_from_a_live_server(live_server, user, tmp_path):
    data = os.urandom(200_000)
    file = FileFactory(owner=user, data=data)
    token = str(RefreshToken.for_user(user).access_token)
    partial = tmp_path / "partial.bin"
    partial.write_bytes(data[:70_000])

    subprocess.run(
        [
            "curl",
            "-sSfL",
            "-C",
            "-",
            "-o",
            str(partial),
            "-H",
            f"Authorization: Bearer {token}",
            f"{live_server.url}{download(file.pk)}",
        ],
        check=True,
        timeout=30,
    )

    assert partial.read_bytes() == data
