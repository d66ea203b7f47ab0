# A separate migration: PostgreSQL refuses ALTER TABLE in the transaction that
# renumbered the rows (pending trigger events).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0002_shipping_attempt_claim'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='shippingattempt',
            constraint=models.UniqueConstraint(fields=('order', 'number'), name='orders_shipping_attempt_unique_number'),
        ),
    ]
