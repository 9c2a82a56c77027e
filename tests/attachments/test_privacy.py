"""Erasure, retention, export and a manager's removal cover the pictures' files."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.attachments import pictures
from tests.support import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _sent(chat, visitor_upload, author="visitor"):
    """A picture uploaded and sent in a message; return (attachment, message)."""
    from visitors.attachments import create_attachment
    from visitors.models import Attachment
    from visitors.store import store_expert_message, store_visitor_message

    if author == "visitor":
        upload = visitor_upload().json()
        message, _ = store_visitor_message(visitor=chat.visitor, text="", client_id=upload["id"], attachment=upload["id"])
        return Attachment.objects.get(pk=upload["id"]), message
    attachment = create_attachment(conversation=chat.conversation, uploaded_by="expert", expert=chat.expert,
                                   data=pictures.photo("PNG"), declared_type="image/png")
    message, _ = store_expert_message(expert=chat.expert, conversation_id=chat.conversation.pk, text="mine",
                                      client_id="e1", attachment=str(attachment.pk))
    return attachment, message


def _files_exist(attachment) -> bool:
    from visitors.models import attachment_storage

    storage = attachment_storage()
    return storage.exists(attachment.file.name) and storage.exists(attachment.thumbnail.name)


def test_erasure_removes_the_visitors_pictures_and_keeps_the_experts(chat, visitor_upload):
    from moderation.privacy import erase_visitor_data
    from visitors.models import Attachment, Message

    theirs, message = _sent(chat, visitor_upload)
    mine, _ = _sent(chat, visitor_upload, author="expert")
    assert _files_exist(theirs) and _files_exist(mine)
    erase_visitor_data(visitor=chat.visitor)
    assert not _files_exist(theirs) and not Attachment.objects.filter(pk=theirs.pk).exists()
    assert Message.objects.get(pk=message.pk).attachment_id is None  # the line stays, without the picture
    assert _files_exist(mine)
    signed = Client().get(f"/attachments/{theirs.pk}/")
    assert signed.status_code == 404


def test_the_retention_purge_removes_every_picture_of_old_conversations(chat, visitor_upload):
    from moderation.privacy import purge_personal_data
    from visitors.models import Attachment, Conversation

    theirs, _ = _sent(chat, visitor_upload)
    mine, _ = _sent(chat, visitor_upload, author="expert")
    Conversation.objects.filter(pk=chat.conversation.pk).update(status="ended", ended_at=timezone.now() - timedelta(days=200))
    purge_personal_data(days=180)
    assert not _files_exist(theirs) and not _files_exist(mine) and not Attachment.objects.exists()


def test_uploads_never_sent_are_swept(chat, visitor_upload, settings):
    from moderation.privacy import purge_personal_data
    from visitors.models import Attachment

    sent, _ = _sent(chat, visitor_upload)
    unsent = Attachment.objects.get(pk=visitor_upload().json()["id"])
    fresh = Attachment.objects.get(pk=visitor_upload().json()["id"])
    Attachment.objects.filter(pk__in=[sent.pk, unsent.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    counts = purge_personal_data(days=180)
    assert counts["unsent_pictures"] == 1
    assert not _files_exist(unsent) and _files_exist(sent) and _files_exist(fresh)


def test_the_export_lists_the_visitors_pictures_with_working_links(chat, visitor_upload):
    from moderation.privacy import export_visitor_data

    attachment, _ = _sent(chat, visitor_upload)
    data = export_visitor_data(visitor=chat.visitor)
    shown = [m["attachment"] for c in data["conversations"] for m in c["messages"] if "attachment" in m]
    assert len(shown) == 1 and shown[0]["url"].startswith(f"/attachments/{attachment.pk}/?")
    assert Client().get(shown[0]["url"]).status_code == 200


def test_a_manager_removes_a_picture_in_the_admin_and_it_is_audited(chat, visitor_upload, django_user_model):
    from django.core.management import call_command

    from moderation.models import ModerationEvent
    from visitors.models import Attachment, Message

    attachment, message = _sent(chat, visitor_upload)
    call_command("create_community_manager", "carol", password="pw-carol-123", email="c@example.test", stdout=io.StringIO())
    client = Client()
    sign_in(client, django_user_model.objects.get(username="carol"))
    listing = client.get("/admin/visitors/attachment/")
    assert listing.status_code == 200 and f"/attachments/{attachment.pk}/thumbnail/".encode() in listing.content
    assert client.get(f"/attachments/{attachment.pk}/thumbnail/").status_code == 200  # the admin's own preview
    transcript = client.get(f"/admin/visitors/conversation/{chat.conversation.pk}/change/")
    assert f"/attachments/{attachment.pk}/thumbnail/".encode() in transcript.content  # shown in the transcript too
    response = client.post("/admin/visitors/attachment/", {"action": "remove_pictures", "_selected_action": [str(attachment.pk)]})
    assert response.status_code == 302
    assert not Attachment.objects.exists() and not _files_exist(attachment)
    assert Message.objects.get(pk=message.pk).attachment_id is None
    event = ModerationEvent.objects.get(action="remove")
    assert event.actor_kind == "manager" and event.conversation_id == chat.conversation.pk
    assert event.details["attachment"] == str(attachment.pk) and event.details["message_seq"] == message.seq
    from moderation.history import describe

    assert describe(event) == f"carol removed a picture from message #{message.seq}: removed from the admin list"
