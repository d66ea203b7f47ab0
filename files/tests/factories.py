import hashlib

import factory
from django.core.files.base import ContentFile

from accounts.tests.factories import UserFactory
from files.models import File


class FileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = File

    owner = factory.SubFactory(UserFactory)
    file = factory.LazyAttribute(lambda o: ContentFile(o.data, name="upload"))
    original_name = factory.Sequence(lambda n: f"notes-{n}.txt")
    size = factory.LazyAttribute(lambda o: len(o.data))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.data).hexdigest())
    content_type = "text/plain"
    kind = File.Kind.TEXT

    class Params:
        data = b"hello world\n"
