import factory

from accounts.tests.factories import UserFactory
from webhooks.models import SUBSCRIBABLE, Endpoint
from webhooks.transport import secret_generate


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    owner = factory.SubFactory(UserFactory)
    url = "http://127.0.0.1:9/hooks/"
    events = factory.LazyFunction(lambda: list(SUBSCRIBABLE))
    secret = factory.LazyFunction(secret_generate)
