"""Topic routing through the sockets: a question goes to its topic's experts first, then to the whole brand."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from tests.support import arun_worker_once, client_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def care(brand):
    from experts.models import Topic

    return Topic.objects.create(brand=brand, slug="care", name="Care and repair")


@pytest.fixture
def sizer(make_expert, brand, topic):
    expert = make_expert("sam", brands=[brand])
    expert.topics.set([topic])
    return expert


@pytest.fixture
def repairer(make_expert, brand, care):
    expert = make_expert("rita", brands=[brand])
    expert.topics.set([care])
    return expert


async def ask(connect, topic=None, text="Does this boot run small?"):
    visitor = await connect.visitor("acme")
    frame = {"type": "conversation.start", "text": text, "client_id": client_id()}
    if topic:
        frame["topic"] = topic
    await visitor.send(frame)
    conversation = (await visitor.recv_type("conversation"))["conversation"]
    return visitor, conversation["id"]


def _wait_over(conversation_id):
    from visitors.models import Conversation

    Conversation.objects.filter(pk=conversation_id).update(topic_offer_until=Conversation.objects.get(pk=conversation_id).created_at)


async def test_a_topic_question_goes_to_its_experts_first_then_to_the_whole_brand(connect, brand, sizer, repairer, alice):
    sam = await connect.expert(sizer)      # answers "sizing"
    rita = await connect.expert(repairer)  # answers "care" only
    anyone = await connect.expert(alice)   # chose no topic: offered every question first
    _, conversation_id = await ask(connect, topic="sizing")

    offered = await sam.recv_type("queue.added")
    assert offered["conversation"]["id"] == conversation_id and offered["offer"] == "topic"
    assert offered["preview"] == "Does this boot run small?"
    assert (await anyone.recv_type("queue.added"))["offer"] == "brand"
    assert await rita.nothing(timeout=0.3)  # not her topic: not yet

    # A colleague of another topic who opens the dashboard now does not see it either, and cannot claim it.
    late = await connect.expert(repairer)
    assert late.welcome["queue"] == [] and late.welcome["queue_offers"] == {}
    refused = await rita.error({"type": "conversation.claim", "conversation": conversation_id})
    assert refused["code"] == "forbidden"

    # Nobody of the topic claimed it in time: the worker's sweep offers it to the whole brand.
    await database_sync_to_async(_wait_over)(conversation_id)
    await arun_worker_once()
    widened = await rita.recv_type("queue.added")
    assert widened["conversation"]["id"] == conversation_id and widened["offer"] == "brand"
    assert (await late.recv_type("queue.added"))["offer"] == "brand"
    # Never offered twice: those who had it hear nothing more.
    assert await sam.nothing(timeout=0.3)
    assert await anyone.nothing(timeout=0.3)
    # Now Rita may take it, and it leaves every queue.
    claimed = await rita.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    assert claimed["expert"]["id"] == str(repairer.pk)
    assert (await sam.recv_type("queue.removed"))["conversation"] == conversation_id
    # The sweep has nothing left to do.
    from experts.topic_routing import widen_topic_offers

    assert await database_sync_to_async(widen_topic_offers)() == 0


async def test_the_welcome_says_which_kind_each_offer_is(connect, brand, sizer, repairer):
    await connect.expert(sizer)  # online: the question waits for the topic first
    _, in_topic = await ask(connect, topic="sizing")
    _, no_topic = await ask(connect, topic=None, text="Where is your shop?")

    sam = await connect.expert(sizer)
    assert sam.welcome["queue_offers"] == {in_topic: "topic", no_topic: "brand"}
    rita = await connect.expert(repairer)
    assert [c["id"] for c in rita.welcome["queue"]] == [no_topic]
    assert rita.welcome["queue_offers"] == {no_topic: "brand"}


async def test_with_nobody_of_the_topic_online_it_goes_to_everyone_at_once(connect, brand, sizer, repairer):
    rita = await connect.expert(repairer)  # Sam (sizing) is not connected
    _, conversation_id = await ask(connect, topic="sizing")
    offered = await rita.recv_type("queue.added")
    assert offered["conversation"]["id"] == conversation_id and offered["offer"] == "brand"


async def test_a_brand_that_waits_zero_seconds_offers_to_everyone_at_once(connect, brand, sizer, repairer):
    brand.topic_wait_seconds = 0
    await database_sync_to_async(brand.save)()
    await connect.expert(sizer)
    rita = await connect.expert(repairer)
    _, conversation_id = await ask(connect, topic="sizing")
    assert (await rita.recv_type("queue.added"))["offer"] == "brand"


async def test_a_question_handed_back_goes_to_the_whole_brand(connect, brand, sizer, repairer):
    sam = await connect.expert(sizer)
    rita = await connect.expert(repairer)
    _, conversation_id = await ask(connect, topic="sizing")
    await sam.recv_type("queue.added")
    await sam.request({"type": "conversation.claim", "conversation": conversation_id}, "conversation")
    await sam.request({"type": "conversation.release", "conversation": conversation_id}, "conversation")
    offered = await rita.recv_type("queue.added")
    assert offered["conversation"]["id"] == conversation_id and offered["offer"] == "brand"


def test_the_sweep_is_scheduled(settings):
    assert settings.CHAT_WORKER_SWEEPS["topic_offers"][0] == "experts.topic_routing.widen_topic_offers"


def test_offer_for_per_expert():
    from experts.topic_routing import offer_for

    question = {"brand": "acme", "topic": "sizing"}
    assert offer_for(question, "topic", {"acme": frozenset({"sizing"})}) == "topic"
    assert offer_for(question, "topic", {"acme": frozenset({"care"})}) is None
    assert offer_for(question, "brand", {"acme": frozenset({"care"})}) == "brand"
    # Topics chosen in another brand only: this brand's questions are all theirs to see.
    assert offer_for(question, "topic", {"globex": frozenset({"sizing"})}) == "brand"
    assert offer_for({"brand": "acme", "topic": None}, "brand", {"acme": frozenset({"care"})}) == "brand"
