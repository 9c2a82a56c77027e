"""The expert's pages over HTTP: access, past conversations, profile, community panel."""

import pytest

from experts import services as expert_services
from experts.models import CommunityPost
from visitors import services as visitor_services
from visitors.models import Visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended_conversation(brand, alice):
    """Alice's ended conversation with Sam, who left personal details in it."""
    visitor = Visitor.objects.create(brand=brand, token_hash="t-sam", nickname="Sam")
    conversation = visitor_services.start_conversation(visitor=visitor, text="Hi, I'm Sam. Muddy trail shoes?", client_id="c1")
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.send_visitor_message(
        visitor=visitor, text="Mail me at sam@example.org or call +33 6 12 34 56 78, see https://sam.example/blog", client_id="c2"
    )
    visitor_services.send_expert_message(expert=alice, conversation_id=conversation.pk, text="Sam, try 5 mm lugs.", client_id="e1")
    visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="expert")
    return conversation


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def test_pages_need_a_signed_in_expert(client, django_user_model):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("mallory", password="x"))
    for path in ("/dashboard/", "/dashboard/past/", "/dashboard/profile/", "/community/"):
        assert client.get(path).status_code == 403, path


def test_suspended_expert_is_refused(alice_client, alice):
    alice.is_suspended = True
    alice.save()
    assert alice_client.get("/dashboard/").status_code == 403


def test_dashboard_offers_the_brands_canned_replies_politeness_reminder_first(alice_client, brand):
    response = alice_client.get("/dashboard/")
    assert response.status_code == 200
    first = response.context["canned_replies"][0]
    assert first["title"] == "Politeness reminder" and first["text"].endswith("Please remain polite and respectful!")


def test_dashboard_names_the_topics_and_the_reminder_warn_posts(alice_client, brand, topic, other_brand):
    from experts.models import Topic

    Topic.objects.create(brand=other_brand, slug="secret", name="Not Alice's brand")
    brand.politeness_reminder = "Please stay polite."
    brand.save()
    response = alice_client.get("/dashboard/")
    # The Conversation object carries the topic's slug: the page gives the JS its name.
    assert response.context["topic_names"] == {"acme": {"sizing": "Sizing and fit"}}
    assert b'<script id="topic-names" type="application/json">{"acme": {"sizing": "Sizing and fit"}}</script>' in response.content
    assert response.context["politeness_reminders"] == {"acme": "Please stay polite."}


def test_past_conversations_are_searchable_and_only_the_experts_own(alice_client, ended_conversation, bob, client):
    response = alice_client.get("/dashboard/past/", {"q": "lugs"})
    assert [c.pk for c in response.context["conversations"]] == [ended_conversation.pk]
    assert alice_client.get("/dashboard/past/", {"q": "kayak"}).context["conversations"] == []

    client.force_login(bob.user)
    assert client.get("/dashboard/past/").context["conversations"] == []
    # Bob cannot draft a post from Alice's conversation either.
    assert client.get("/community/new/", {"from": str(ended_conversation.pk)}).status_code == 404


def test_share_this_experience_drafts_a_post_without_personal_details(alice_client, ended_conversation):
    response = alice_client.get("/community/new/", {"from": str(ended_conversation.pk)})

    body = response.context["form"].initial["body"]
    assert "> Visitor: Hi, I'm the visitor. Muddy trail shoes?" in body
    assert "> Me: the visitor, try 5 mm lugs." in body
    for secret in ("Sam", "sam@example.org", "12 34 56", "sam.example"):
        assert secret not in body
    assert "[e-mail removed]" in body and "[phone number removed]" in body and "[link removed]" in body

    posted = alice_client.post("/community/new/", {
        "title": "Edited title", "body": "My edited story", "source_conversation": str(ended_conversation.pk),
    })
    post = CommunityPost.objects.get()
    assert posted["Location"] == f"/community/{post.pk}/"
    assert post.source_conversation_id == ended_conversation.pk


def test_community_lists_newest_activity_first_and_searches_replies(alice_client, alice, bob):
    older = expert_services.create_community_post(author=alice, title="Rude visitor", body="What would you do?")
    newer = expert_services.create_community_post(author=bob, title="Sizing tips", body="Half a size up.")
    assert [p.pk for p in alice_client.get("/community/").context["posts"]] == [newer.pk, older.pk]

    alice_client.post(f"/community/{older.pk}/", {"body": "Warn first, then block."})
    posts = alice_client.get("/community/").context["posts"]
    assert [p.pk for p in posts] == [older.pk, newer.pk]
    assert posts[0].reply_count == 1
    assert [p.pk for p in alice_client.get("/community/", {"q": "then block"}).context["posts"]] == [older.pk]
    page = alice_client.get(f"/community/{older.pk}/")
    assert b"Warn first, then block." in page.content
    assert alice_client.get("/community/999999/").status_code == 404


def test_community_text_is_escaped(alice_client, alice):
    post = expert_services.create_community_post(author=alice, title="<script>alert(1)</script>", body="<img src=x onerror=alert(1)>")
    content = alice_client.get(f"/community/{post.pk}/").content
    assert b"<script>alert(1)</script>" not in content and b"<img src=x" not in content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in content


def test_profile_saves_and_shows_statistics(alice_client, alice, topic, ended_conversation):
    type(ended_conversation).objects.filter(pk=ended_conversation.pk).update(rating_score=4)
    response = alice_client.get("/dashboard/profile/")
    stats = response.context["stats"]
    assert stats["conversations"] == 1
    assert stats["average_rating"] == 4
    assert stats["first_response_seconds"] is not None
    assert sum(count for _, count in stats["per_day"]) == 1
    assert b"<svg" in response.content

    saved = alice_client.post("/dashboard/profile/", {
        "display_name": "Alice R.", "bio": "Ultra runner", "avatar_url": "https://img.example/a.png", "topics": [topic.pk],
    })
    assert saved.status_code == 302
    alice.refresh_from_db()
    assert (alice.display_name, alice.bio, alice.avatar_url) == ("Alice R.", "Ultra runner", "https://img.example/a.png")
    assert list(alice.topics.all()) == [topic]


def test_profile_refuses_another_brands_topic_and_plain_http_avatars(alice_client, alice, other_brand):
    from experts.models import Topic

    foreign = Topic.objects.create(brand=other_brand, slug="x", name="Other")
    response = alice_client.post("/dashboard/profile/", {
        "display_name": "Alice", "avatar_url": "http://img.example/a.png", "topics": [foreign.pk],
    })
    assert response.status_code == 200
    assert "avatar_url" in response.context["form"].errors and "topics" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.avatar_url == ""


def test_share_this_experience_removes_addresses_order_numbers_and_handles(alice_client, alice, brand):
    visitor = Visitor.objects.create(brand=brand, token_hash="t-kim", nickname="Kim")
    conversation = visitor_services.start_conversation(
        visitor=visitor, text="My order #A-48213 (and order 4821337) never came to 221B Baker Street.", client_id="c1"
    )
    expert_services.claim_conversation(expert=alice, conversation_id=conversation.pk)
    visitor_services.send_visitor_message(
        visitor=visitor, text="Ship to 12 rue de la Paix or Hauptstraße 5; tracking 1Z999AA10123456784; I'm @kim_runs", client_id="c2"
    )
    visitor_services.send_expert_message(
        expert=alice, conversation_id=conversation.pk, text="Lugs of 5 mm help; I ran 12 years in them.", client_id="e1"
    )
    visitor_services.end_conversation(conversation_id=conversation.pk, ended_by="visitor")

    body = alice_client.get("/community/new/", {"from": str(conversation.pk)}).context["form"].initial["body"]

    for secret in ("48213", "4821337", "Baker Street", "221B", "rue de la Paix", "Hauptstraße 5", "1Z999AA", "@kim_runs", "kim_runs"):
        assert secret not in body, secret
    assert "[address removed]" in body and "[number removed]" in body and "[handle removed]" in body
    # Ordinary numbers in the advice stay readable.
    assert "> Me: Lugs of 5 mm help; I ran 12 years in them." in body
