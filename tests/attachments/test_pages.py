"""Where a picture shows outside the chat: the expert's past conversations, the transcript e-mail."""

import pytest
from django.core import mail
from django.test import Client

from tests.attachments.test_privacy import _sent

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_experts_past_conversations_show_the_picture(chat, visitor_upload):
    from visitors.models import Conversation

    attachment, _ = _sent(chat, visitor_upload)
    Conversation.objects.filter(pk=chat.conversation.pk).update(status="ended")
    client = Client()
    client.force_login(chat.expert.user)
    page = client.get("/dashboard/past/")
    assert f'src="/attachments/{attachment.pk}/thumbnail/"'.encode() in page.content
    assert client.get(f"/attachments/{attachment.pk}/thumbnail/").status_code == 200


def test_the_transcript_e_mail_says_a_picture_was_sent(chat, visitor_upload):
    from django.utils import timezone

    from visitors.followups import send_transcript
    from visitors.models import Conversation, Visitor

    _sent(chat, visitor_upload)
    Visitor.objects.filter(pk=chat.visitor.pk).update(email="sam@example.test", email_consented_at=timezone.now())
    Conversation.objects.filter(pk=chat.conversation.pk).update(status="ended", ended_at=timezone.now())
    send_transcript(conversation_id=str(chat.conversation.pk))
    [sent] = mail.outbox
    assert "[A picture: see it in the chat]" in sent.body
    assert "/attachments/" not in sent.body  # no link: it would be a bearer URL in a mailbox
