"""Shared storage: upload -> process (a real worker) -> thumbnail -> download against a real
S3-protocol server (moto in server mode on 127.0.0.1), spoken to over HTTP by boto3.

The web side (this process) and the worker (another process) share nothing but the
database, the broker and the bucket; the worker gets the bucket from the same
environment variables production uses. boto3 reading the bucket directly is the oracle.
"""

import hashlib
import io
import os
from email.message import Message
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from conftest import free_port, wait_until
from files.models import File
from files.services import file_process
from files.tests.conftest import stored_files
from files.tests.factories import FileFactory
from files.tests.samples import image_bytes

pytestmark = [pytest.mark.e2e]

UPLOAD = reverse("files-api:upload")
BUCKET = "files-test"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server in this process, on a free loopback port, with an empty bucket."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3(s3_endpoint, settings, monkeypatch):
    """Storage switched to the bucket: the environment for a worker started after this,
    the settings for this process. Returns a boto3 client of the bucket (the oracle)."""
    environment = {
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_setting(s3_endpoint)}
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **CREDENTIALS)
    yield client
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for entry in listed:
        client.delete_object(Bucket=BUCKET, Key=entry["Key"])


def s3_storage_setting(endpoint: str) -> dict:
    """STORAGES["default"] as config/settings/base.py builds it from the environment
    above (the worker's copy of the settings is built that way, for real)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint,
            "region_name": REGION,
            "access_key": CREDENTIALS["aws_access_key_id"],
            "secret_key": CREDENTIALS["aws_secret_access_key"],
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_expire": 300,
            "file_overwrite": True,
            "default_acl": None,
            "max_memory_size": 2_621_440,
            "transfer_config": transfer_config(),
        },
    }


def transfer_config():
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(max_concurrency=2)
    config.max_in_memory_upload_chunks = 2
    return config


@pytest.fixture
def s3_worker(s3, request):
    """A real worker started with the bucket in its environment."""
    return request.getfixturevalue("celery_worker")


def stored_object(client, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def attachment_name(header: str) -> str | None:
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    return message.get_filename()


def test_upload_process_thumbnail_download_through_the_bucket(
    transactional_db, s3_worker, s3, s3_endpoint, auth_client, media_root
):
    data = image_bytes(size=(1024, 512))

    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("Фото с отпуска.png", data)}, format="multipart")
    assert response.status_code == HTTPStatus.CREATED, response.content
    pk = response.json()["id"]
    file = wait_until(lambda: File.objects.filter(pk=pk, status__in=["done", "failed"]).first(), timeout=30)

    # The bucket holds the bytes as uploaded, and the worker's thumbnail; the local disk nothing.
    assert (file.status, file.result["width"], file.result["thumbnail_width"]) == ("done", 1024, 256), file.error
    stored = stored_object(s3, file.file.name)
    assert hashlib.sha256(stored).hexdigest() == response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(stored_object(s3, file.thumbnail.name))) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("PNG", (256, 128))
    assert stored_files(media_root) == []

    # Download: a presigned link on the bucket, an attachment under the Russian name, Range honoured.
    redirect = auth_client.get(reverse("files-api:file-download", kwargs={"pk": pk}))
    assert redirect.status_code == HTTPStatus.FOUND
    assert redirect["Location"].startswith(f"{s3_endpoint}/{BUCKET}/{file.file.name}?")
    whole = requests.get(redirect["Location"], timeout=10)
    part = requests.get(redirect["Location"], headers={"Range": "bytes=100-199"}, timeout=10)
    assert (whole.status_code, whole.content) == (HTTPStatus.OK, data)
    assert attachment_name(whole.headers["Content-Disposition"]) == "Фото с отпуска.png"
    assert whole.headers["Content-Type"] == "image/png"
    assert (part.status_code, part.content) == (HTTPStatus.PARTIAL_CONTENT, data[100:200])

    # Thumbnail: the same, and Pillow reads what the link serves.
    thumb_redirect = auth_client.get(reverse("files-api:file-thumbnail", kwargs={"pk": pk}))
    served = requests.get(thumb_redirect["Location"], timeout=10)
    assert (thumb_redirect.status_code, served.status_code) == (HTTPStatus.FOUND, HTTPStatus.OK)
    assert attachment_name(served.headers["Content-Disposition"]) == "Фото с отпуска.thumbnail.png"
    with Image.open(io.BytesIO(served.content)) as thumbnail:
        assert thumbnail.size == (256, 128)

    # Delete: both objects leave the bucket.
    assert auth_client.delete(reverse("files-api:file-detail", kwargs={"pk": pk})).status_code == 204
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_large_upload_streams_to_the_bucket_and_is_processed(
    transactional_db, s3_worker, s3, auth_client, media_root
):
    """12 MB: past the in-memory upload limit (a temporary file) and past boto3's multipart
    threshold (uploaded in parts); the worker reads it back through a spooled temporary file."""
    data = os.urandom(12 * 1024 * 1024)

    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("архив.bin", data)}, format="multipart")
    pk = response.json()["id"]
    file = wait_until(lambda: File.objects.filter(pk=pk, status__in=["done", "failed"]).first(), timeout=60)

    digest = hashlib.sha256(data).hexdigest()
    assert (file.status, file.kind, file.result["sha256"]) == ("done", "binary", digest), file.error
    assert hashlib.sha256(stored_object(s3, file.file.name)).hexdigest() == digest
    head = s3.head_object(Bucket=BUCKET, Key=file.file.name)
    assert head["ContentLength"] == len(data)
    assert "-" in head["ETag"]  # a multipart upload's ETag: "<md5 of the parts' md5s>-<parts>"
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_links_are_presigned_for_the_public_endpoint_when_it_differs(s3, s3_endpoint, settings, auth_client, user):
    """Inside compose the servers reach MinIO as minio:9000 and clients as localhost:9000."""
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    settings.FILES_S3_PUBLIC_ENDPOINT_URL = public
    file = FileFactory(owner=user, original_name="итог.csv", data=b"a,b\n1,2\n", content_type="text/csv")

    location = auth_client.get(reverse("files-api:file-download", kwargs={"pk": file.pk}))["Location"]
    served = requests.get(location, timeout=10)

    assert location.startswith(f"{public}/{BUCKET}/{file.file.name}?")
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["300"]
    assert (served.status_code, served.content, served.headers["Content-Type"]) == (200, b"a,b\n1,2\n", "text/csv")
    assert attachment_name(served.headers["Content-Disposition"]) == "итог.csv"


@pytest.mark.django_db
def test_an_upload_while_the_bucket_is_unreachable_is_503_and_writes_nothing(settings, auth_client, monkeypatch):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_setting(closed)}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries only make the test slower

    response = auth_client.post(UPLOAD, {"file": SimpleUploadedFile("a.txt", b"hello\n")}, format="multipart")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {"detail": "The file store is unavailable; try the upload again shortly."}
    assert not File.objects.exists()


@pytest.mark.django_db
def test_a_file_whose_object_left_the_bucket_fails_with_a_message(s3, user):
    file = FileFactory(owner=user, data=b"gone soon\n")
    s3.delete_object(Bucket=BUCKET, Key=file.file.name)

    file_process(file_id=file.pk)

    file.refresh_from_db()
    assert (file.status, file.error) == ("failed", "The stored file is missing; upload it again.")
