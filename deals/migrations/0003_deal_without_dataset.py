"""The raw deals table holds one upload at a time: its rows name no data set, so a
load no longer sets a column default per upload."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0002_deal_no_primary_key_index'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='deal',
            name='dataset',
        ),
    ]
