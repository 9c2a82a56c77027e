import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.attachments import pictures

BRAND_ORIGIN = "https://shop.acme.test"


@pytest.fixture
def chat(brand, alice):
    """A visitor (with their token) in a conversation Alice has claimed."""
    from django.utils import timezone

    from visitors.models import Conversation, Visitor
    from visitors.tokens import hash_token

    token = secrets.token_urlsafe(24)
    visitor = Visitor.objects.create(brand=brand, token_hash=hash_token(token), nickname="Sam")
    conversation = Conversation.objects.create(
        brand=brand, visitor=visitor, expert=alice, status=Conversation.Status.ACTIVE, claimed_at=timezone.now()
    )
    return type("Chat", (), {"visitor": visitor, "token": token, "conversation": conversation, "expert": alice})


def post_picture(client, conversation, data, *, name="photo.jpg", content_type="image/jpeg", token=None,
                 origin=BRAND_ORIGIN, **headers):
    fields = {"conversation": str(conversation.pk if hasattr(conversation, "pk") else conversation),
              "file": SimpleUploadedFile(name, data, content_type=content_type)}
    if token is not None:
        headers["HTTP_X_VISITOR_TOKEN"] = token
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return client.post("/attachments/", fields, **headers)


@pytest.fixture
def visitor_upload(chat):
    """Upload as the chat's visitor, from the brand's page: ``visitor_upload(data, **post_picture options)``."""
    def upload(data=None, **options):
        options.setdefault("token", chat.token)
        return post_picture(Client(), options.pop("conversation", chat.conversation), data or pictures.photo(), **options)

    return upload


@pytest.fixture
def expert_client(chat):
    """Alice signed in, with Django's CSRF check on (as in a browser): the CSRF token in ``csrf``."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(chat.expert.user)
    client.csrf = "a" * 32
    client.cookies["csrftoken"] = client.csrf
    return client


def stored_bytes(attachment_id, variant="file") -> bytes:
    from visitors.models import Attachment, attachment_storage

    attachment = Attachment.objects.get(pk=attachment_id)
    with attachment_storage().open(getattr(attachment, variant).name, "rb") as handle:
        return handle.read()
