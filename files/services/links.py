"""Short-lived links to stored bytes: presigned on S3, Django's signing on any other storage.

The API checks ownership and then redirects to one of these, so the bytes
themselves are served by the object store (or by one small view that trusts
only the signature) and the link stops working after FILES_SIGNED_URL_SECONDS.
"""

import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils.http import content_disposition_header

from config.errors import PermissionDenied

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

SALT = "files.signed-link"


class LinkRefused(PermissionDenied):
    """A tampered or expired link: 403, never a 500."""


@dataclass(frozen=True)
class Blob:
    """What a signed link names: a stored object and how to hand it out."""

    name: str
    filename: str
    content_type: str


def _as_s3(storage: Storage) -> "S3Storage | None":
    """``storage`` if it is django-storages' S3Storage. Its module is not imported
    here: it brings boto3 (tens of MB per process) into deployments on local disk,
    and an S3Storage instance cannot exist unless its module was imported."""
    module = sys.modules.get("storages.backends.s3")
    s3_class = getattr(module, "S3Storage", None)
    return storage if s3_class is not None and isinstance(storage, s3_class) else None


def _public_s3_storage(storage: "S3Storage") -> "S3Storage":
    """The storage to presign with: links carry the host they were signed for, so
    when clients reach the object store under another name than the servers do
    (MinIO as ``minio:9000`` inside compose) they are signed for the public one.
    Presigning makes no request."""
    public = settings.FILES_S3_PUBLIC_ENDPOINT_URL
    if not public or public == storage.endpoint_url:
        return storage
    options = settings.STORAGES["default"].get("OPTIONS", {})
    return _presigner(public, tuple(sorted((key, repr(value)) for key, value in options.items())))


@functools.cache
def _presigner(public: str, options_key: tuple) -> "S3Storage":
    # Built once per configuration: a boto3 client takes tens of milliseconds to make.
    from storages.backends.s3 import S3Storage

    return S3Storage(**{**settings.STORAGES["default"].get("OPTIONS", {}), "endpoint_url": public})


def signed_link(*, field: FieldFile, filename: str, content_type: str) -> str:
    """A URL that serves ``field``'s bytes as an attachment named ``filename``
    until FILES_SIGNED_URL_SECONDS have passed. Absolute on S3 (the bucket's
    host), a path on this site otherwise."""
    storage: Storage = field.storage
    disposition = content_disposition_header(as_attachment=True, filename=filename)
    seconds = settings.FILES_SIGNED_URL_SECONDS
    s3 = _as_s3(storage)
    if s3 is not None:
        parameters = {"ResponseContentDisposition": disposition, "ResponseContentType": content_type}
        return _public_s3_storage(s3).url(field.name, parameters=parameters, expire=seconds)
    token = signing.dumps({"n": field.name, "f": filename, "t": content_type}, salt=SALT, compress=True)
    return reverse("files-api:file-signed", kwargs={"token": token})


def signed_link_read(*, token: str) -> Blob:
    """The object a link names, if its signature holds and it has not expired."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.FILES_SIGNED_URL_SECONDS)
    except signing.SignatureExpired as exc:
        raise LinkRefused("This download link has expired; ask the API for a new one.", code="expired") from exc
    except signing.BadSignature as exc:
        raise LinkRefused("This download link is not valid.", code="bad_signature") from exc
    try:
        return Blob(name=str(payload["n"]), filename=str(payload["f"]), content_type=str(payload["t"]))
    except (KeyError, TypeError) as exc:  # signed by us with another salt's shape: still refuse cleanly
        raise LinkRefused("This download link is not valid.", code="bad_signature") from exc
