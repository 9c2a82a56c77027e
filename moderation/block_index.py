"""The blocks each brand holds now, read once per process and shared by every visitor socket's heartbeat.

The visitor socket's heartbeat re-checks its block, because the `visitor.blocked`
event is only a doorbell and may be lost. Asked of the database per socket, that
is one query per socket per beat: about 120 a second at 2,000 visitors. Here one
read of a brand's active blocks serves every socket of that brand in this
process for CHAT_BLOCK_INDEX_SECONDS (0: read at every beat). Concurrent beats
share one read. The rule is ``selectors.active_block``'s: this visitor, or,
where the brand blocks by address, any of the address's hashes; not lifted, not
expired (checked at lookup, so a block that expires meanwhile stops counting).

Frames that reach the database do not use this: they check there, in their own
statement (``selectors.no_active_block_sql``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from chatplatform.shared_reads import SharedReads

from .models import Block


@dataclass(frozen=True)
class BrandBlocks:
    """One brand's active blocks: visitor id -> end, address hash -> end (None: until lifted).

    Where two blocks cover the same visitor or address, the newest one's end is kept,
    as ``active_block`` returns the newest.
    """

    by_visitor: dict
    by_address: dict

    def covering(self, *, visitor_id, address_hashes, by_address: bool, now: datetime | None = None):
        """``(True, end)`` if a block still covers this visitor (or address), else ``(False, None)``."""
        now = now or timezone.now()
        candidates = [self.by_visitor[visitor_id]] if visitor_id in self.by_visitor else []
        if by_address:
            candidates += [self.by_address[h] for h in address_hashes if h and h in self.by_address]
        for end in candidates:
            if end is None or end > now:
                return True, end
        return False, None


def read_brand_blocks(brand_id) -> BrandBlocks:
    by_visitor, by_address = {}, {}
    rows = Block.objects.active().filter(brand_id=brand_id).order_by("created_at").values_list(
        "visitor_id", "address_hash", "expires_at"
    )
    for visitor_id, address_hash, expires_at in rows:  # oldest first: the newest block's end wins
        if visitor_id is not None:
            by_visitor[visitor_id] = expires_at
        if address_hash:
            by_address[address_hash] = expires_at
    return BrandBlocks(by_visitor, by_address)


_shared = SharedReads(read_brand_blocks, ttl=lambda: settings.CHAT_BLOCK_INDEX_SECONDS)


async def brand_blocks(brand_id) -> BrandBlocks:
    """The brand's active blocks, as read at most CHAT_BLOCK_INDEX_SECONDS ago in this process."""
    return await _shared.get(brand_id)


def forget() -> None:
    """Drop what was read (tests)."""
    _shared.forget()
