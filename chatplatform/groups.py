"""Channel-layer group names: one function each, never built inline.

Channels accepts ASCII letters, digits, ``-_.`` and fewer than 100 characters.
"""


def conversation_group(conversation_id) -> str:
    """Every socket following one conversation: the visitor's tabs and the assigned expert's."""
    return f"conversation.{conversation_id}"


def visitor_group(visitor_id) -> str:
    """Every socket of one visitor (state changes, and closing them all on a block)."""
    return f"visitor.{visitor_id}"


def address_group(brand_slug: str, address_hash: str) -> str:
    """Every visitor socket of one brand coming from one network address (its keyed hash)."""
    return f"address.{brand_slug}.{address_hash[:40]}"


def expert_group(expert_id) -> str:
    """Every socket of one expert (their dashboard tabs)."""
    return f"expert.{expert_id}"


def user_group(user_id) -> str:
    """Every session-authenticated socket of one user (dashboard, moderation feed): closed on sign-out."""
    return f"user.{user_id}"


def queue_group(brand_slug: str) -> str:
    """The sockets of a brand's online experts, offered its waiting conversations."""
    return f"queue.{brand_slug}"


def experts_online_group(brand_slug: str) -> str:
    """One watcher per server process with the brand's widgets open, rung when its experts online may change."""
    return f"online.{brand_slug}"


def moderators_group() -> str:
    """Every community manager's live feed."""
    return "moderators"
