"""Downloads and thumbnails redirect to short-lived signed links (local storage: Django's signing)."""

import io
import time
from email.message import Message
from http import HTTPStatus

import pytest
from django.core import signing
from django.urls import reverse
from PIL import Image

from files.services import file_process
from files.services.links import SALT
from files.tests.factories import FileFactory
from files.tests.samples import image_bytes

pytestmark = pytest.mark.django_db


def download(pk: int) -> str:
    return reverse("files-api:file-download", kwargs={"pk": pk})


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def attachment_name(header: str) -> str | None:
    """The outside oracle: the standard library's RFC 2231 reading of Content-Disposition."""
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    return message.get_filename()


def test_download_redirects_to_a_signed_link_that_serves_the_bytes(auth_client, api_client, user):
    file = FileFactory(owner=user, original_name="Отчёт за декабрь.txt", data=b"the bytes\n")

    redirect = auth_client.get(download(file.pk))
    served = api_client.get(redirect["Location"])  # no credentials: the signature is the credential

    assert redirect.status_code == HTTPStatus.FOUND
    assert redirect["Location"].startswith("/api/files/signed/")
    assert redirect["Cache-Control"] == "private, no-store"
    assert served.status_code == HTTPStatus.OK
    assert attachment_name(served["Content-Disposition"]) == "Отчёт за декабрь.txt"
    assert (served["Content-Type"], served["X-Content-Type-Options"]) == ("text/plain", "nosniff")
    assert body(served) == b"the bytes\n"


def test_thumbnail_redirects_to_a_png_attachment(auth_client, api_client, user):
    file = FileFactory(owner=user, original_name="фото.png", data=image_bytes(size=(512, 128)), kind="image")
    file_process(file_id=file.pk)

    redirect = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}))
    served = api_client.get(redirect["Location"])

    assert redirect.status_code == HTTPStatus.FOUND
    assert (served.status_code, served["Content-Type"]) == (HTTPStatus.OK, "image/png")
    assert attachment_name(served["Content-Disposition"]) == "фото.thumbnail.png"
    with Image.open(io.BytesIO(body(served))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("PNG", (256, 64))


def test_another_users_file_gets_no_link(other_client, user):
    file = FileFactory(owner=user)

    response = other_client.get(download(file.pk))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Location" not in response


def tampered(location: str) -> str:
    token = location.rstrip("/").rsplit("/", 1)[-1]
    value, _, signature = token.rpartition(":")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return reverse("files-api:file-signed", kwargs={"token": f"{value}:{flipped}"})


def forged(name: str) -> str:
    """A payload naming another stored object, signed with the wrong key."""
    token = signing.dumps({"n": name, "f": "x", "t": "text/plain"}, key="not-our-secret", salt=SALT)
    return reverse("files-api:file-signed", kwargs={"token": token})


@pytest.mark.parametrize(
    "make_url",
    [
        tampered,
        lambda location: reverse("files-api:file-signed", kwargs={"token": "not-a-token"}),
        lambda location: forged("files/2026/12/someone-elses"),
        lambda location: location.replace("/signed/", "/signed/x"),
    ],
    ids=["flipped-signature", "garbage", "wrong-key", "mangled-payload"],
)
def test_a_tampered_link_is_403(auth_client, api_client, user, make_url):
    file = FileFactory(owner=user, data=b"secret")
    location = auth_client.get(download(file.pk))["Location"]

    response = api_client.get(make_url(location))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "This download link is not valid."}


def test_a_link_expires_after_files_signed_url_seconds(auth_client, api_client, user, settings, monkeypatch):
    settings.FILES_SIGNED_URL_SECONDS = 60
    file = FileFactory(owner=user, data=b"soon gone")
    location = auth_client.get(download(file.pk))["Location"]
    issued = time.time()

    monkeypatch.setattr(signing.time, "time", lambda: issued + 59)
    fresh = api_client.get(location)
    monkeypatch.setattr(signing.time, "time", lambda: issued + 62)
    expired = api_client.get(location)

    assert (fresh.status_code, body(fresh)) == (HTTPStatus.OK, b"soon gone")
    assert expired.status_code == HTTPStatus.FORBIDDEN
    assert expired.json() == {"detail": "This download link has expired; ask the API for a new one."}


def test_a_link_to_a_deleted_file_is_404(auth_client, api_client, user, django_capture_on_commit_callbacks):
    file = FileFactory(owner=user, data=b"short-lived")
    location = auth_client.get(download(file.pk))["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        auth_client.delete(reverse("files-api:file-detail", kwargs={"pk": file.pk}))
    response = api_client.get(location)

    assert response.status_code == HTTPStatus.NOT_FOUND
