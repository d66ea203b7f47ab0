"""The sha256 migration backfills existing rows from their stored bytes."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory

BEFORE = [("files", "0001_initial")]
AFTER = [("files", "0002_file_sha256")]


@pytest.mark.django_db(transaction=True)
def test_sha256_is_backfilled_from_the_stored_files(media_root):
    user = UserFactory()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_file = executor.loader.project_state(BEFORE).apps.get_model("files", "File")
    common = {"owner_id": user.pk, "size": 5, "content_type": "text/plain", "kind": "text"}
    kept = old_file(original_name="kept.txt", **common)
    kept.file.save("upload", ContentFile(b"kept\n"), save=False)
    kept.save()
    gone = old_file(original_name="gone.txt", **common)
    gone.file.save("upload", ContentFile(b"gone\n"), save=False)
    gone.save()
    (media_root / gone.file.name).unlink()

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    new_file = executor.loader.project_state(AFTER).apps.get_model("files", "File")
    digests = dict(new_file.objects.values_list("original_name", "sha256"))
    assert digests == {"kept.txt": hashlib.sha256(b"kept\n").hexdigest(), "gone.txt": ""}
