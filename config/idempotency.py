"""The one seam for idempotent writes: the ``Idempotency-Key`` request header
(IETF draft "The Idempotency-Key HTTP Header Field").

A view declares it on its handler, after authentication has run::

    @idempotent("orders.create")
    def post(self, request): ...

Without the header nothing changes. With it, per user and per endpoint:

1. The key is checked (1-255 printable ASCII characters, else 400) and the parsed
   body is reduced to a fingerprint: the JSON value, or the multipart fields with
   each file's name and SHA-256 (the upload handlers' hash when they made one).
2. The key is claimed by an INSERT on the unique (user, endpoint, key) constraint,
   committed on its own, so a concurrent request with the same key finds the row:
   a different fingerprint is a 422, a claim still held a 409, a stored answer is
   replayed (same status, same body, ``Idempotent-Replayed: true``) and nothing
   runs again.
3. The handler runs in one transaction with the storing of its answer, whatever
   it was (a 201 or a 4xx): the work commits only together with the answer that
   replays it. A 5xx is no answer to keep: its work rolls back, the key is freed.
   The store is conditional on the claim's token, so if the claim was taken
   over, this request's work rolls back (409) instead of happening twice.
4. A request that dies holds its claim only until ``locked_until``
   (``IDEMPOTENCY_LOCK_SECONDS``); an unexpected error releases it at once. Then
   the next request with the key runs afresh, its earlier work having rolled back.

Keys live ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h): an older row counts as absent,
and the beat task ``idempotency_keys_expire_task`` deletes such rows.

A body that cannot be parsed (malformed, too large, wrong media type) is refused
before any claim: it has no parsed content to compare, so that 4xx is not stored.
"""

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.db.models import Field
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request

from config.errors import ApplicationError, Conflict
from config.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII; a web server strips spaces at either end of a header value.
KEY_SHAPE = re.compile(r"[\x20-\x7e]{1,255}")
_META = "HTTP_" + HEADER.upper().replace("-", "_")

logger = logging.getLogger(__name__)


class IdempotencyKeyInvalid(ApplicationError):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"

    def __init__(self) -> None:
        super().__init__(
            f"A request with this {HEADER} is still running; retry once it has finished to get its answer."
        )


@dataclass(frozen=True)
class _Claim:
    pk: int
    token: str


def idempotent(endpoint: str) -> Callable:
    """Make a view's handler honour ``Idempotency-Key``; ``endpoint`` names it
    (keys are per user and per endpoint)."""

    def decorate(handler: Callable) -> Callable:
        @wraps(handler)
        def wrapper(view, request: Request, *args, **kwargs) -> HttpResponseBase:
            key = request_key(request)
            if key is None:
                return handler(view, request, *args, **kwargs)
            found = _claim(
                user_id=cast(int, request.user.pk), endpoint=endpoint, key=key, fingerprint=fingerprint(request)
            )
            if isinstance(found, IdempotencyKey):
                return _replay(found)
            try:
                return _run(found, view, handler, request, *args, **kwargs)
            except BaseException:
                _release(found)
                raise

        return wrapper

    return decorate


def request_key(request: Request) -> str | None:
    """The request's Idempotency-Key, None without one; a malformed one is a 400."""
    key = request.META.get(_META)
    if key is None:
        return None
    if not KEY_SHAPE.fullmatch(key):
        raise IdempotencyKeyInvalid(
            f"{HEADER} must be 1-255 printable ASCII characters (got {len(key)} characters"
            + ("" if key.isascii() and key.isprintable() else ", some not printable ASCII")
            + ")."
        )
    return key


def fingerprint(request: Request) -> str:
    """SHA-256 of the parsed body: the JSON value with its keys sorted, or the
    multipart fields in name order with each file as its name and SHA-256."""
    data: Any = request.data
    if hasattr(data, "lists"):  # a QueryDict: form or multipart fields and files
        data = [[name, [_part(value) for value in values]] for name, values in sorted(data.lists())]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _part(value: Any) -> Any:
    if not isinstance(value, UploadedFile):
        return value
    digest = getattr(value, "sha256", None)  # set by the hashing upload handlers
    if digest is None:
        hashed = hashlib.sha256()
        for chunk in value.chunks():
            hashed.update(chunk)
        value.seek(0)
        digest = hashed.hexdigest()
    return {"name": value.name, "sha256": digest}


def _claim(*, user_id: int, endpoint: str, key: str, fingerprint: str) -> _Claim | IdempotencyKey:
    """Claim the key for this request, or return the row holding its answer."""
    now = timezone.now()
    token = secrets.token_hex(16)
    hold = now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
    for _ in range(3):
        values = {"user_id": user_id, "endpoint": endpoint, "key": key, "fingerprint": fingerprint}
        pk = _insert_claim(**values, created_at=now, claim=token, locked_until=hold)
        if pk is not None:
            return _Claim(pk, token)
        found = IdempotencyKey.objects.filter(user_id=user_id, endpoint=endpoint, key=key).first()
        if found is None:
            continue  # expired and deleted meanwhile: claim it afresh
        if found.created_at <= now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS):
            IdempotencyKey.objects.filter(pk=found.pk, created_at=found.created_at).delete()
            continue  # expired, not yet swept: a new key
        if found.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"This {HEADER} was used with a different request body; use a new key for a new request."
            )
        if found.response_status is not None:
            return found
        if found.locked_until is not None and found.locked_until > now:
            raise IdempotencyKeyInUse()
        # The request that held it died (its work rolled back with it): take it over.
        if _held_by(found.pk, found.claim).update(claim=token, locked_until=hold):
            return _Claim(found.pk, token)
        raise IdempotencyKeyInUse()
    raise IdempotencyKeyInUse()


def _insert_claim(**values: Any) -> int | None:
    """INSERT the claim, or nothing if the key has a row: the new row's id or None.
    Committed on its own, before the request's transaction begins, so a concurrent
    request with the key sees it at once. SQL, not the ORM: it is on the path of
    every keyed request, and ON CONFLICT needs no exception handling.

    On PostgreSQL the commit does not wait for the disk (``synchronous_commit``
    off for this transaction only; the wait was most of what a key cost). That
    is safe: others see the row at once all the same, and the request's own
    commit, which does wait, flushes the log up to it. A crash before that loses
    the claim together with the work it guarded, so the retry runs afresh."""
    connection = transaction.get_connection()
    meta, quote = IdempotencyKey._meta, connection.ops.quote_name
    values = {"response_content_type": "", "response_body": b"", **values}
    fields = {_field(name): value for name, value in values.items()}
    conflict = ", ".join(quote(_field(name).column) for name in ("user", "endpoint", "key"))
    # Identifiers from the model's own meta; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({conflict}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column)}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, [field.get_db_prep_save(value, connection) for field, value in fields.items()])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _field(name: str) -> Field:
    return cast(Field, IdempotencyKey._meta.get_field(name))


def _held_by(pk: int, token: str):
    return IdempotencyKey.objects.filter(pk=pk, claim=token, response_status__isnull=True)


def _run(claim: _Claim, view, handler: Callable, request: Request, *args, **kwargs) -> HttpResponseBase:
    with transaction.atomic():
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            # DRF's answer to an API error (a 4xx is stored like a 201); anything
            # else propagates, rolls the work back and releases the claim.
            response = view.handle_exception(exc)
        response = view.finalize_response(request, response, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        if response.status_code >= 500:
            # A failure on our side (storage or database unreachable) is no answer
            # to keep: nothing is kept, and a retry runs afresh.
            transaction.set_rollback(True)
        elif not _held_by(claim.pk, claim.token).update(
            response_status=response.status_code,
            response_content_type=response.get("Content-Type", ""),
            response_body=response.content,  # type: ignore[attr-defined]
            locked_until=None,
        ):
            raise IdempotencyKeyInUse()  # taken over after our hold lapsed: our work rolls back
    if response.status_code >= 500:
        _release(claim)
    return response


def _release(claim: _Claim) -> None:
    try:
        _held_by(claim.pk, claim.token).delete()
    except DatabaseError:
        # The database is what failed: the claim lapses after IDEMPOTENCY_LOCK_SECONDS.
        logger.warning("idempotency claim not released", exc_info=True)


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.response_status, content_type=row.response_content_type
    )
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_keys_expire() -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_TTL_SECONDS``; return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
