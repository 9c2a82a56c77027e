"""'n experts online' stays true while the widget is open: pushed when it changes (issue 17)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

pytestmark = pytest.mark.django_db(transaction=True)


async def online_figure(visitor, timeout=3.0) -> int:
    return (await visitor.recv_type("experts.online", timeout=timeout))["count"]


async def test_the_count_follows_experts_going_online_away_and_offline(connect, brand, alice, bob):
    visitor = await connect.visitor()
    assert visitor.welcome["brand"]["experts_online"] == 0
    expert_a = await connect.expert(alice)
    assert await online_figure(visitor) == 1
    expert_b = await connect.expert(bob)
    assert await online_figure(visitor) == 2
    await expert_b.request({"type": "presence.set", "status": "away"}, "presence")
    assert await online_figure(visitor) == 1
    await expert_a.close()
    assert await online_figure(visitor) == 0
    await expert_b.request({"type": "presence.set", "status": "online"}, "presence")
    assert await online_figure(visitor) == 1


async def test_a_second_tab_of_the_same_expert_changes_nothing(connect, brand, alice):
    visitor = await connect.visitor()
    await connect.expert(alice)
    assert await online_figure(visitor) == 1
    await connect.expert(alice)
    assert await visitor.nothing(timeout=0.5, besides=())


async def test_only_the_brands_own_widgets_hear_it(connect, brand, other_brand, make_expert):
    ours = await connect.visitor()
    theirs = await connect.visitor("globex", origin=b"https://globex.test")
    carol = await database_sync_to_async(make_expert)("carol", brands=[other_brand])
    await connect.expert(carol)
    assert await online_figure(theirs) == 1
    assert await ours.nothing(timeout=0.5, besides=())


async def test_a_burst_of_experts_is_one_count_per_process(connect, brand, make_expert, monkeypatch):
    from visitors import experts_online

    counted = []
    real = experts_online._count
    monkeypatch.setattr(experts_online, "_count", lambda ids: counted.append(list(ids)) or real(ids))
    visitors = [await connect.visitor() for _ in range(5)]
    profiles = [await database_sync_to_async(make_expert)(f"expert{i}", brands=[brand]) for i in range(4)]
    await asyncio.gather(*(connect.expert(p) for p in profiles))
    figures = [await online_figure(v) for v in visitors]
    await asyncio.sleep(0.3)
    for v in visitors:  # a socket hears only changes: the last figure is the whole crowd
        figures[visitors.index(v)] = max([figures[visitors.index(v)]] + [f["count"] for f in await v.drain() if f["type"] == "experts.online"])
    assert figures == [4] * 5
    assert len(counted) <= 4 < 4 * 5  # per process and burst, never per socket


async def test_a_suspended_expert_leaves_the_count(connect, brand, alice):
    from django.contrib.auth import get_user_model

    from moderation import services

    visitor = await connect.visitor()
    expert = await connect.expert(alice)
    assert await online_figure(visitor) == 1

    def suspend():
        manager = get_user_model().objects.create_user("manager", is_staff=True)
        services.set_suspended(user=manager, expert=alice, suspended=True)

    await database_sync_to_async(suspend)()
    assert await expert.closed_with() == 4403
    await expert.communicator.disconnect()  # as daphne does once the server closed a socket
    assert await online_figure(visitor) == 0


async def test_an_expert_whose_process_died_leaves_the_count_at_the_next_recount(connect, brand, alice, settings):
    from datetime import timedelta

    from django.utils import timezone

    from experts.models import ExpertConnection

    settings.CHAT_PRESENCE_HEARTBEAT_SECONDS = 1
    visitor = await connect.visitor()
    assert visitor.welcome["brand"]["experts_online"] == 0
    # The dashboard socket of another server process that then died: its row, and no doorbell ever.
    await database_sync_to_async(ExpertConnection.objects.create)(
        channel_name="specific.dead!1", expert=alice, opened_at=timezone.now(), seen_at=timezone.now() - timedelta(seconds=1)
    )
    assert await online_figure(visitor, timeout=3) == 1  # the periodic count saw it
    assert await online_figure(visitor, timeout=4) == 0  # three heartbeats without a refresh: gone


async def test_a_new_figure_is_encoded_once_for_all_the_brands_widgets(connect, brand, alice, monkeypatch):
    # Guards against: one JSON encode per visitor socket each time the figure changes (thousands
    # of widgets open, docs/performance.md "One decode, one encode").
    from chatplatform import protocol

    visitors = [await connect.visitor() for _ in range(5)]
    encoded = []
    real = protocol.encode
    monkeypatch.setattr(protocol, "encode", lambda frame: encoded.append(frame["type"]) or real(frame))
    await connect.expert(alice)
    assert [await online_figure(v) for v in visitors] == [1] * 5
    assert encoded.count("experts.online") == 1


async def test_an_away_experts_dashboard_coming_and_going_rings_no_doorbell(connect, brand, alice, monkeypatch):
    # Guards against: a reconnect storm's away experts each publishing two doorbells no widget needs.
    from experts.models import ExpertProfile
    from visitors import experts_online

    rung = []
    real = experts_online.ring

    async def recording(slugs):
        rung.append(list(slugs))
        await real(slugs)

    monkeypatch.setattr(experts_online, "ring", recording)
    await database_sync_to_async(ExpertProfile.objects.filter(pk=alice.pk).update)(presence=ExpertProfile.Presence.AWAY)
    visitor = await connect.visitor()
    expert = await connect.expert(alice)
    await expert.close()
    await asyncio.sleep(0.1)
    assert rung == []
    assert await visitor.nothing(timeout=0.3, besides=())
    await database_sync_to_async(ExpertProfile.objects.filter(pk=alice.pk).update)(presence=ExpertProfile.Presence.ONLINE)
    expert = await connect.expert(alice)
    assert await online_figure(visitor) == 1
    await expert.close()
    assert await online_figure(visitor) == 0
    assert rung == [[brand.slug], [brand.slug]]
