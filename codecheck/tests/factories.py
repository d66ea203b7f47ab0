import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from codecheck.models import Check, CodeFile, Finding


class CodeFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeFile

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"module_{n}.py")
    file = factory.django.FileField(filename="module.py", data=b"import os\n")
    size = 10
    uploaded_at = factory.LazyFunction(timezone.now)


class CheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Check

    file = factory.SubFactory(CodeFileFactory)
    version = factory.SelfAttribute("file.version")
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
    passed = True


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    check_log = factory.SubFactory(CheckFactory, passed=False)
    line = 1
    column = 1
    code = "F401"
    message = "'os' imported but unused"
