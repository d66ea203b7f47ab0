"""Every file gets the SHA-256 of its bytes; existing rows are backfilled from storage."""

import hashlib

from django.db import migrations, models

CHUNK_BYTES = 1024 * 1024


def backfill_sha256(apps, schema_editor):
    """Read each stored file once, in 1 MB chunks. A row whose stored bytes are
    gone keeps an empty ``sha256`` (its download is a 404 already)."""
    File = apps.get_model("files", "File")
    for file in File.objects.filter(sha256="").only("pk", "file").iterator(chunk_size=500):
        digest = hashlib.sha256()
        try:
            with file.file.open("rb") as stream:
                for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):  # noqa: B023
                    digest.update(chunk)
        except FileNotFoundError:
            continue
        File.objects.filter(pk=file.pk).update(sha256=digest.hexdigest())


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="file",
            name="sha256",
            field=models.CharField(db_index=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(backfill_sha256, migrations.RunPython.noop, elidable=True),
    ]
