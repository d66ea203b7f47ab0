import hashlib
import io
import os
import subprocess
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from files.models import File
from files.services import file_process, uploads
from files.tests.conftest import stored_files
from files.tests.factories import FileFactory
from files.tests.samples import TEXT_FORMATS, image_bytes

pytestmark = pytest.mark.django_db

UPLOAD = reverse("files-api:upload")
LIST = reverse("files-api:file-list")


def raw_upload(client, filename: str, data: bytes):
    """POST a hand-built multipart body: the test client would clean the name itself."""
    boundary = "----boundary7MA4YWxk"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.generic("POST", UPLOAD, body, content_type=f"multipart/form-data; boundary={boundary}")


def detail(pk: int) -> str:
    return reverse("files-api:file-detail", kwargs={"pk": pk})


def stored_sha256(file: File) -> str:
    """The oracle: hashlib over the bytes as stored."""
    with file.file.open("rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def expected_body(file: File) -> dict:
    file.refresh_from_db()
    return {
        "id": file.pk,
        "owner": file.owner_id,
        "file": f"http://testserver{reverse('files-api:file-download', kwargs={'pk': file.pk})}",
        "original_name": file.original_name,
        "size": file.size,
        "sha256": stored_sha256(file),
        "content_type": file.content_type,
        "kind": file.kind,
        "status": file.status,
        "processed": file.processed,
        "result": file.result,
        "error": file.error,
        "thumbnail": (
            f"http://testserver{reverse('files-api:file-thumbnail', kwargs={'pk': file.pk})}"
            if file.thumbnail
            else None
        ),
        "uploaded_at": file.uploaded_at.isoformat().replace("+00:00", "Z"),
        "processing_started_at": (
            file.processing_started_at.isoformat().replace("+00:00", "Z") if file.processing_started_at else None
        ),
        "processed_at": file.processed_at.isoformat().replace("+00:00", "Z") if file.processed_at else None,
        "attempts": file.attempts,
    }


def test_upload_returns_201_and_enqueues_after_commit(
    auth_client, user, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = auth_client.post(
            UPLOAD, {"file": SimpleUploadedFile("photo.txt", image_bytes(), "text/plain")}, format="multipart"
        )

    assert response.status_code == HTTPStatus.CREATED
    file = File.objects.get()
    assert response.json() == expected_body(file)
    assert (file.owner, file.original_name, file.kind, file.content_type, file.status, file.processed) == (
        user,
        "photo.txt",
        "image",
        "image/png",
        "pending",
        False,
    )
    assert stored_files(media_root) == [file.file.name]
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, {"file": ["No file was submitted."]}),
        ({"file": SimpleUploadedFile("empty.txt", b"")}, {"file": ["The submitted file is empty."]}),
        ({"file": "not a file"}, {"file": ["The submitted data was not a file. Check the encoding type on the form."]}),
    ],
)
def test_upload_bad_input_is_400_and_writes_nothing(auth_client, media_root, body, error):
    response = auth_client.post(UPLOAD, body, format="multipart")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error
    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_upload_that_is_not_multipart_is_415(auth_client):
    response = auth_client.post(UPLOAD, {"file": "x"}, format="json")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": 'Unsupported media type "application/json" in request.'}
    assert not File.objects.exists()


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_upload_over_the_limit_is_413_and_writes_nothing(auth_client, settings, media_root, size):
    settings.FILES_MAX_UPLOAD_BYTES = 1024 * 1024

    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("big.bin", b"x" * size)}, format="multipart")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {
        "detail": "The file is larger than the upload limit of 1 MB (1,048,576 bytes). Upload a smaller file."
    }
    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_upload_at_the_limit_is_accepted(auth_client, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 1024 * 1024

    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("big.bin", b"x" * 1024 * 1024)}, format="multipart")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["size"] == 1024 * 1024


def test_upload_whose_declared_length_cannot_fit_is_refused_before_reading(auth_client, settings):
    settings.FILES_MAX_UPLOAD_BYTES = 1024
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--b--\r\n'

    response = auth_client.generic(
        "POST",
        UPLOAD,
        body,
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert not File.objects.exists()


def test_upload_ignores_other_file_fields(auth_client, media_root):
    response = auth_client.post(
        UPLOAD,
        {"file": SimpleUploadedFile("a.txt", b"hello\n"), "other": SimpleUploadedFile("b.txt", b"other\n")},
        format="multipart",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert stored_files(media_root) == [File.objects.get().file.name]


@pytest.mark.parametrize(
    ("name", "stored_name"),
    [
        ("../../../etc/passwd", "passwd"),
        ("/tmp/abs.txt", "abs.txt"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("x" * 300 + ".txt", "x" * 251 + ".txt"),
        ("résumé\u202eexe.pdf", "résuméexe.pdf"),
        (".hidden", "hidden"),
    ],
)
def test_hostile_names_are_kept_as_data_only(auth_client, media_root, name, stored_name):
    response = raw_upload(auth_client, name, b"hello\n")

    assert response.status_code == HTTPStatus.CREATED
    file = File.objects.get()
    assert response.json()["original_name"] == file.original_name == stored_name
    assert file.file.name.startswith("files/")
    assert len(file.file.name.rsplit("/", 1)[-1]) == 32
    assert stored_files(media_root) == [file.file.name]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("..", "No file was submitted."),
        (".", "No file was submitted."),
        ("/", "No file was submitted."),
        ("", "The submitted data was not a file. Check the encoding type on the form."),
    ],
)
def test_upload_without_a_usable_name_is_400(auth_client, media_root, name, message):
    response = raw_upload(auth_client, name, b"hello\n")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"file": [message]}
    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_malformed_multipart_is_400(auth_client):
    response = auth_client.generic("POST", UPLOAD, b"garbage", content_type="multipart/form-data")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Multipart form parse error - Invalid boundary in multipart: None"}
    assert not File.objects.exists()


def test_upload_requires_login(api_client):
    response = api_client.post(UPLOAD, {"file": SimpleUploadedFile("a.txt", b"x")}, format="multipart")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert not File.objects.exists()


def test_list_shows_only_own_files(auth_client, user, other_user):
    mine = [FileFactory(owner=user) for _ in range(2)]
    FileFactory(owner=other_user)

    response = auth_client.get(LIST)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [expected_body(f) for f in reversed(mine)],
    }


def test_staff_see_every_file(staff_client, user, other_user):
    files = [FileFactory(owner=user), FileFactory(owner=other_user)]

    response = staff_client.get(LIST)

    assert [item["id"] for item in response.json()["results"]] == [f.pk for f in reversed(files)]


def test_list_filters_by_status_and_kind(auth_client, user):
    FileFactory(owner=user, status="pending")
    wanted = FileFactory(owner=user, status="done", processed=True, kind="csv")
    FileFactory(owner=user, status="done", processed=True, kind="text")

    response = auth_client.get(LIST, {"status": "done", "kind": "csv"})

    assert [item["id"] for item in response.json()["results"]] == [wanted.pk]


def test_list_with_a_bad_filter_is_400(auth_client):
    response = auth_client.get(LIST, {"status": "lost"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"status": ["Select a valid choice. lost is not one of the available choices."]}


def test_list_is_paginated(auth_client, user):
    for _ in range(3):
        FileFactory(owner=user)

    response = auth_client.get(LIST, {"page_size": 2})

    body = response.json()
    assert (body["count"], len(body["results"]), body["next"]) == (3, 2, f"http://testserver{LIST}?page=2&page_size=2")


def test_detail_of_a_processed_file(auth_client, user):
    file = FileFactory(owner=user)
    file_process(file_id=file.pk)

    response = auth_client.get(detail(file.pk))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == expected_body(file)
    assert response.json()["result"] == {"encoding": "ascii", "lines": 1, "words": 2, "characters": 12}


def test_another_users_file_is_404(other_client, user, media_root):
    file = FileFactory(owner=user)
    download = reverse("files-api:file-download", kwargs={"pk": file.pk})

    responses = [other_client.get(detail(file.pk)), other_client.delete(detail(file.pk)), other_client.get(download)]

    assert [r.status_code for r in responses] == [HTTPStatus.NOT_FOUND] * 3
    assert File.objects.filter(pk=file.pk).exists()
    assert stored_files(media_root) == [file.file.name]


def test_delete_removes_the_row_and_the_stored_files(auth_client, user, media_root, django_capture_on_commit_callbacks):
    file = FileFactory(owner=user, data=image_bytes(), kind="image", content_type="image/png")
    file_process(file_id=file.pk)
    assert len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.delete(detail(file.pk))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not File.objects.exists()
    assert stored_files(media_root) == []


def test_staff_may_delete_any_file(staff_client, user, django_capture_on_commit_callbacks):
    file = FileFactory(owner=user)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(detail(file.pk))

    assert (response.status_code, File.objects.exists()) == (HTTPStatus.NO_CONTENT, False)


def test_download_is_an_attachment_under_the_original_name(auth_client, user):
    file = FileFactory(owner=user, original_name='report "final".txt', data=b"the bytes\n")

    response = auth_client.get(reverse("files-api:file-download", kwargs={"pk": file.pk}), follow=True)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="report \\"final\\".txt"'
    assert b"".join(response.streaming_content) == b"the bytes\n"


@pytest.mark.parametrize(
    ("name", "filename", "content_type"),
    [("svg", "logo.svg", "image/svg+xml"), ("html", "page.html", "text/html"), ("xml", "feed.xml", "text/xml")],
)
def test_markup_is_typed_by_libmagic_and_only_ever_downloaded(auth_client, name, filename, content_type):
    """SVG and HTML can carry scripts: served inline from our origin they would run."""
    data = TEXT_FORMATS[name]
    upload = auth_client.post(UPLOAD, {"file": SimpleUploadedFile(filename, data, "text/plain")}, format="multipart")

    response = auth_client.get(reverse("files-api:file-download", kwargs={"pk": upload.json()["id"]}), follow=True)

    assert (upload.status_code, upload.json()["kind"], upload.json()["content_type"]) == (
        HTTPStatus.CREATED,
        "text",
        content_type,
    )
    assert (response.status_code, response["Content-Type"]) == (HTTPStatus.OK, content_type)
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == data


def test_download_of_a_missing_stored_file_is_404(auth_client, user, media_root):
    file = FileFactory(owner=user)
    (media_root / file.file.name).unlink()

    response = auth_client.get(reverse("files-api:file-download", kwargs={"pk": file.pk}), follow=True)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_thumbnail_of_a_processed_image(auth_client, user):
    file = FileFactory(owner=user, data=image_bytes(size=(512, 128)), kind="image", content_type="image/png")
    file_process(file_id=file.pk)

    response = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}), follow=True)

    assert (response.status_code, response["Content-Type"]) == (HTTPStatus.OK, "image/png")
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as thumbnail:
        assert thumbnail.size == (256, 64)


def test_thumbnail_of_a_file_without_one_is_404(auth_client, user):
    file = FileFactory(owner=user)

    response = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}), follow=True)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_thumbnail_whose_stored_file_is_gone_is_404(auth_client, user, media_root):
    file = FileFactory(owner=user, data=image_bytes(), kind="image", content_type="image/png")
    file_process(file_id=file.pk)
    file.refresh_from_db()
    (media_root / file.thumbnail.name).unlink()

    response = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}), follow=True)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_schema_documents_the_files_api(api_client):
    schema = api_client.get(reverse("schema"), {"format": "json"}).json()

    upload = schema["paths"]["/api/upload/"]["post"]
    assert set(upload["responses"]) == {"201", "400", "401", "409", "413", "414", "415", "422", "503"}
    assert set(schema["paths"]["/api/files/"]["get"]["responses"]) == {"200", "400", "401", "404", "414", "503"}
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert set(schema["paths"]["/api/files/{id}/"]["delete"]["responses"]) == {"204", "401", "404", "414", "503"}
    parameters = {p["name"] for p in schema["paths"]["/api/files/"]["get"]["parameters"]}
    assert {"status", "kind", "page", "page_size"} <= parameters


def sha256sum(path) -> str:
    """The outside oracle: coreutils' sha256sum on the stored file."""
    return subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


@pytest.mark.parametrize("size", [1000, 3 * 1024 * 1024], ids=["in-memory", "temporary-file"])
def test_upload_sha256_is_hashed_while_streaming(auth_client, media_root, monkeypatch, size):
    data = os.urandom(size)

    class NoSecondHash:
        def sha256(self, *args):
            raise AssertionError("the service hashed the upload again")

    monkeypatch.setattr(uploads, "hashlib", NoSecondHash())
    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("blob.bin", data)}, format="multipart")

    assert response.status_code == HTTPStatus.CREATED
    file = File.objects.get()
    digest = sha256sum(media_root / file.file.name)
    assert (response.json()["sha256"], file.sha256, digest) == (digest, digest, hashlib.sha256(data).hexdigest())


def test_upload_made_outside_a_request_is_hashed_too(upload_file):
    file = upload_file(b"from the shell\n")

    assert file.sha256 == hashlib.sha256(b"from the shell\n").hexdigest()


def test_list_filters_by_sha256(auth_client, user, other_user):
    wanted = FileFactory(owner=user, data=b"same bytes")
    FileFactory(owner=user, data=b"other bytes")
    FileFactory(owner=other_user, data=b"same bytes")
    digest = hashlib.sha256(b"same bytes").hexdigest()

    lower = auth_client.get(LIST, {"sha256": digest})
    upper = auth_client.get(LIST, {"sha256": digest.upper()})

    assert [f["id"] for f in lower.json()["results"]] == [wanted.pk]
    assert upper.json() == lower.json()


def test_staff_filter_by_sha256_across_owners(staff_client, user, other_user):
    files = [FileFactory(owner=owner, data=b"same bytes") for owner in (user, other_user)]
    FileFactory(owner=user, data=b"other bytes")

    response = staff_client.get(LIST, {"sha256": hashlib.sha256(b"same bytes").hexdigest()})

    assert sorted(f["id"] for f in response.json()["results"]) == sorted(f.pk for f in files)


@pytest.mark.parametrize("value", ["", "abc", "g" * 64, "a" * 63, "a" * 65, " " + "a" * 63, "a" * 64 + "\n"])
def test_list_with_a_malformed_sha256_is_400(auth_client, value):
    response = auth_client.get(LIST, {"sha256": value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"sha256": ["Enter a SHA-256 digest: 64 hexadecimal characters."]}


def test_thumbnail_is_an_attachment(auth_client, user):
    file = FileFactory(owner=user, original_name="wide.png", data=image_bytes(size=(512, 128)), kind="image")
    file_process(file_id=file.pk)

    response = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": file.pk}), follow=True)

    assert response["Content-Disposition"] == 'attachment; filename="wide.thumbnail.png"'
    assert response["Accept-Ranges"] == "bytes"
