"""The community panel per brand: an expert reads and posts in their brands' spaces, and in the
cross-brand space only when one of their brands opted in; scoped managers see their brands' posts."""

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command

from chatplatform.errors import ChatError
from experts import services
from experts.models import CommunityPost, CommunityReply
from experts.selectors import CROSS_BRAND
from moderation.models import ManagerScope
from tests.support import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def gina(make_expert, other_brand):
    return make_expert("gina", brands=[other_brand], display_name="Gina Globex")


@pytest.fixture
def signed_in(client):
    def sign_in(expert):
        client.force_login(expert.user)
        return client
    return sign_in


def test_an_expert_sees_and_answers_only_their_brands_posts(signed_in, alice, gina):
    acme_post = services.create_community_post(author=alice, title="Acme lacing", body="Tip")
    globex_post = services.create_community_post(author=gina, title="Globex secret", body="Hush")
    assert (acme_post.brand.slug, globex_post.brand.slug) == ("acme", "globex")
    client = signed_in(alice)
    page = client.get("/community/")
    assert [p.pk for p in page.context["posts"]] == [acme_post.pk]
    assert "Globex secret" not in page.content.decode()
    assert client.get("/community/", {"q": "secret"}).context["posts"] == []
    assert client.get(f"/community/{globex_post.pk}/").status_code == 404
    assert client.post(f"/community/{globex_post.pk}/", {"body": "Peeking"}).status_code == 404
    assert client.get("/community/", {"space": "globex"}).status_code == 404
    assert not CommunityReply.objects.exists()
    with pytest.raises(ChatError) as refused:
        services.add_community_reply(author=alice, post_id=globex_post.pk, body="Peeking")
    assert refused.value.code == "not_found"


def test_no_cross_brand_space_unless_a_brand_opts_in(signed_in, alice, gina, brand, other_brand):
    client = signed_in(alice)
    assert CROSS_BRAND not in dict(client.get("/community/").context["spaces"])
    refused = client.post("/community/new/", {"space": CROSS_BRAND, "title": "Everyone", "body": "Hello all"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not CommunityPost.objects.exists()

    brand.community_cross_brand = True
    brand.save()
    posted = client.post("/community/new/", {"space": CROSS_BRAND, "title": "Everyone", "body": "Hello all"})
    shared = CommunityPost.objects.get()
    assert posted["Location"] == f"/community/{shared.pk}/" and shared.brand is None
    assert "All brands" in client.get("/community/").content.decode()
    # Globex has not opted in: Gina does not see the cross-brand space.
    gina_client = signed_in(gina)
    assert gina_client.get("/community/").context["posts"] == []
    assert gina_client.get(f"/community/{shared.pk}/").status_code == 404
    other_brand.community_cross_brand = True
    other_brand.save()
    assert [p.pk for p in gina_client.get("/community/", {"space": CROSS_BRAND}).context["posts"]] == [shared.pk]
    gina_client.post(f"/community/{shared.pk}/", {"body": "Hi from Globex"})
    assert shared.replies.get().author == gina


def test_an_expert_of_two_brands_chooses_the_space(signed_in, make_expert, brand, other_brand):
    both = make_expert("max", brands=[brand, other_brand])
    client = signed_in(both)
    assert client.get("/community/new/").context["form"].fields["space"].choices == [("acme", "Acme Outdoor"), ("globex", "Globex")]
    client.post("/community/new/", {"space": "globex", "title": "For Globex", "body": "Only them"})
    post = CommunityPost.objects.get()
    assert post.brand == other_brand
    assert [p.pk for p in client.get("/community/", {"space": "acme"}).context["posts"]] == []
    assert [p.pk for p in client.get("/community/", {"space": "globex"}).context["posts"]] == [post.pk]


def test_a_space_that_is_not_the_experts_is_refused(alice, other_brand):
    with pytest.raises(ChatError) as refused:
        services.create_community_post(author=alice, title="Sneaky", body="In Globex", space="globex")
    assert refused.value.code == "invalid_field"
    assert not CommunityPost.objects.exists()


def test_existing_posts_move_to_their_authors_brand(make_expert, brand, other_brand):
    """The data migration (experts 0006): the author's first brand, or the cross-brand space for none."""
    alice = make_expert("alice", brands=[brand])
    max_ = make_expert("max", brands=[other_brand])
    max_.brands.add(brand)  # joined Globex first
    loner = make_expert("loner", brands=[])
    posts = [CommunityPost.objects.create(author=author, title="Old", body="Post", last_activity_at="2026-01-01T00:00Z")
             for author in (alice, max_, loner)]
    migration = importlib.import_module("experts.migrations.0006_community_posts_to_authors_brand")
    migration.to_authors_brand(apps, None)
    assert [CommunityPost.objects.get(pk=p.pk).brand_id for p in posts] == [brand.pk, other_brand.pk, None]


def test_a_brand_scoped_manager_sees_only_their_brands_posts_in_the_admin(client, django_user_model, alice, gina, brand):
    acme_post = services.create_community_post(author=alice, title="Acme lacing", body="Tip")
    globex_post = services.create_community_post(author=gina, title="Globex secret", body="Hush")
    brand.community_cross_brand = True
    brand.save()
    shared = services.create_community_post(author=alice, title="Cross-brand talk", body="All", space=CROSS_BRAND)
    call_command("create_community_manager", "dave", password="pw-dave-12345", stdout=io.StringIO())
    dave = django_user_model.objects.get(username="dave")
    sign_in(client, dave)  # with two-factor passed, as the admin requires of managers
    assert client.get("/admin/experts/communitypost/").context["cl"].result_count == 3
    ManagerScope.objects.create(user=dave).brands.set([brand])
    listing = client.get("/admin/experts/communitypost/")
    assert [p.pk for p in listing.context["cl"].result_list] == [acme_post.pk]
    assert "Globex secret" not in listing.content.decode() and "Cross-brand talk" not in listing.content.decode()
    assert client.get(f"/admin/experts/communitypost/{globex_post.pk}/change/").status_code == 302  # "not found": back to the index
    assert client.get("/admin/experts/communitypost/", {"q": "secret"}).context["cl"].result_count == 0
    assert CommunityPost.objects.filter(pk=shared.pk).exists()
