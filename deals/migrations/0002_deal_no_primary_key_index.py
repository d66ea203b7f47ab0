"""The raw deals table keeps no primary key index on PostgreSQL.

Its rows are written by COPY, read only by the aggregation (whole-table scans) and
emptied by TRUNCATE: an index nobody reads cost a sixth of a million-row upload,
rebuilt after every load. Ids still come from the identity column, so they stay
unique. SQLite keeps its key: there the id is the rowid and costs nothing.
"""

from django.db import migrations

TABLE = "deals_deal"


def drop_primary_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" DROP CONSTRAINT IF EXISTS "{TABLE}_pkey"')


def add_primary_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id)')


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]

    operations = [migrations.RunPython(drop_primary_key, add_primary_key)]
