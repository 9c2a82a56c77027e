"""The block rule, as one object a socket holds: is this visitor (or their address) kept out?

The rule has three forms, each for the place it is cheapest, and all of them
live here: a statement (``check``, the exact answer, with the `blocked` error),
an SQL condition (``condition``, which the message store folds into the UPDATE
that takes a message's seq, so the check costs no statement of its own), and
the process's in-memory index of a brand's blocks (``covered_now``, for the
visitor socket's heartbeat; moderation/block_index.py). Visitors' code never
sees SQL or a Block row: it passes the policy to the store (visitors/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatplatform import errors
from chatplatform.errors import ChatError

from . import block_index, selectors
from .serializers import block_object, protocol_time
from .services import BLOCKED_DETAIL


@dataclass(frozen=True, slots=True)
class BlockPolicy:
    """The blocks that may cover one visitor socket: its brand, its visitor (once known), its address."""

    brand: object
    visitor: object | None = None
    address_hashes: tuple[str, ...] = ()

    def for_visitor(self, visitor) -> BlockPolicy:
        return BlockPolicy(self.brand, visitor, self.address_hashes)

    def refusal(self) -> ChatError | None:
        """The `blocked` error if a block holds now (one statement), else None."""
        block = selectors.active_block(brand=self.brand, visitor=self.visitor, address_hashes=self.address_hashes)
        if block is None:
            return None
        return ChatError(errors.BLOCKED, BLOCKED_DETAIL, until=block_object(block)["until"])

    def check(self) -> None:
        """Raise the `blocked` error if a block holds now."""
        refusal = self.refusal()
        if refusal is not None:
            raise refusal

    def condition(self) -> tuple[str, list]:
        """"Not blocked" as an SQL condition ``(sql, params)`` for the message store's own statement."""
        return selectors.no_active_block_sql(brand=self.brand, visitor=self.visitor, address_hashes=self.address_hashes)

    async def covered_now(self) -> tuple[bool, str | None]:
        """From the process's index of the brand's blocks (no statement per socket): (covered, until)."""
        blocks = await block_index.brand_blocks(self.brand.pk)
        covered, until = blocks.covering(
            visitor_id=self.visitor.pk, address_hashes=self.address_hashes, by_address=self.brand.block_by_address
        )
        return covered, protocol_time(until) if covered else None
