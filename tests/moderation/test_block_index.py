"""The heartbeat's block re-check: one read of a brand's blocks serves every socket of the process."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from moderation import block_index
from tests.moderation.sockets import start, visitor_from

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted_reads(monkeypatch):
    """Count the reads of a brand's blocks (each one is a database query)."""
    block_index.forget()
    reads = []
    real = block_index.read_brand_blocks

    def counting(brand_id):
        reads.append(brand_id)
        return real(brand_id)

    monkeypatch.setattr(block_index._shared, "read", counting)
    yield reads
    block_index.forget()


def _block(brand, **fields):
    from moderation.models import Block

    fields.setdefault("expires_at", timezone.now() + timedelta(hours=1))
    return Block.objects.create(brand=brand, reason="Threats", **fields)


async def test_concurrent_beats_share_one_read_and_a_new_block_shows_after_the_interval(brand, counted_reads, settings):
    settings.CHAT_BLOCK_INDEX_SECONDS = 0.3
    answers = await asyncio.gather(*(block_index.brand_blocks(brand.pk) for _ in range(50)))
    assert len(counted_reads) == 1 and all(a is answers[0] for a in answers)
    blocked = await database_sync_to_async(_block)(brand, address_hash="h1")
    assert not (await block_index.brand_blocks(brand.pk)).covering(visitor_id=None, address_hashes=["h1"], by_address=True)[0]
    await asyncio.sleep(0.35)
    covered, until = (await block_index.brand_blocks(brand.pk)).covering(visitor_id=None, address_hashes=["h1"], by_address=True)
    assert covered and until == blocked.expires_at and len(counted_reads) == 2


def test_the_index_follows_the_rule_of_active_block(brand):
    from moderation.selectors import active_block
    from visitors.models import Visitor

    now = timezone.now()
    kept, other = (Visitor.objects.create(brand=brand, token_hash=f"t{i}") for i in range(2))
    _block(brand, visitor=kept, expires_at=now - timedelta(minutes=1))  # expired
    _block(brand, visitor=other, lifted_at=now)  # lifted
    soon = _block(brand, address_hash="addr", expires_at=now + timedelta(seconds=1))
    later = _block(brand, address_hash="addr", expires_at=now + timedelta(hours=2))  # the newest wins
    blocks = block_index.read_brand_blocks(brand.pk)
    for visitor, hashes in [(kept, ()), (other, ()), (kept, ("addr",)), (other, ("elsewhere",))]:
        expected = active_block(brand=brand, visitor=visitor, address_hashes=hashes)
        covered, until = blocks.covering(visitor_id=visitor.pk, address_hashes=hashes, by_address=brand.block_by_address)
        assert covered == (expected is not None)
        assert until == (expected.expires_at if expected else None)
    assert blocks.covering(visitor_id=kept.pk, address_hashes=("addr",), by_address=True) == (True, later.expires_at)
    assert not blocks.covering(visitor_id=kept.pk, address_hashes=("addr",), by_address=False)[0]  # token-only brand
    # A block that expires after the read stops counting without another read.
    only_soon = block_index.BrandBlocks({}, {"addr": soon.expires_at})
    assert not only_soon.covering(visitor_id=None, address_hashes=("addr",), by_address=True, now=now + timedelta(seconds=2))[0]


async def test_many_sockets_beat_on_few_reads_and_a_lost_block_still_closes_them(connect, brand, via_proxy, counted_reads, settings):
    # Guards against: one block query per socket per beat (120 a second at 2,000 visitors), and against
    # the shared read letting a blocked visitor stay.
    settings.CHAT_VISITOR_HEARTBEAT_SECONDS = 0.1
    settings.CHAT_BLOCK_INDEX_SECONDS = 0.25
    visitors = [await visitor_from(connect, f"192.0.2.{140 + i}") for i in range(6)]
    # Counted from here: how long the six handshakes take depends on the machine, not on the beats.
    counted_reads.clear()
    await asyncio.sleep(1.0)  # six sockets, about ten beats each: sixty reads if each beat read
    assert 1 <= len(counted_reads) <= 6, counted_reads
    target = visitors[0]
    await start(target)
    await database_sync_to_async(_block)(brand, visitor_id=target.welcome["visitor"]["id"])  # its event never sent
    error = await target.recv_type("error", timeout=2)
    assert error["code"] == "blocked" and error["until"] is not None
    assert await target.closed_with() == 4403
    for other in visitors[1:]:
        assert await other.request({"type": "ping"}, "pong")  # the others chat on
