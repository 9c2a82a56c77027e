"""The one error type the services raise, carrying a stable protocol code."""

# Codes from docs/protocol.md; the consumers turn a ChatError into an `error` frame.
INVALID_FRAME = "invalid_frame"
UNKNOWN_TYPE = "unknown_type"
INVALID_FIELD = "invalid_field"
TOO_LONG = "too_long"
NOT_FOUND = "not_found"
FORBIDDEN = "forbidden"
CONVERSATION_OPEN = "conversation_open"
NO_CONVERSATION = "no_conversation"
ALREADY_CLAIMED = "already_claimed"
CAPACITY = "capacity"
RATE_LIMITED = "rate_limited"
BLOCKED = "blocked"
ENDED = "ended"
# Added by this server (docs/protocol.md allows additions): the database or another
# dependency failed; nothing was stored, the same frame may be sent again.
UNAVAILABLE = "unavailable"
# Added with picture attachments (POST /attachments/, docs/protocol.md "Attachments"): not a picture
# we accept (400), and a file or a picture bigger than the limits (413).
UNSUPPORTED_TYPE = "unsupported_type"
TOO_LARGE = "too_large"


class ChatError(Exception):
    """A refused action: nothing was changed. ``code`` is the protocol's error code."""

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra
