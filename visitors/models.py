"""Brands, their anonymous visitors, conversations and messages: the messaging core."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_noop

from chatplatform.i18n import language_codes

# Marked for translation: a brand that kept a default shows it in each visitor's language (visitors/views.py).
DEFAULT_POLITENESS_REMINDER = gettext_noop(
    "I'm a member of the community. I'm here to help and to share my knowledge. "
    "Please remain polite and respectful!"
)
DEFAULT_WELCOME_MESSAGE = gettext_noop(
    "Ask your question: an independent expert from our community will answer you live. "
    "Experts are passionate customers, not brand staff."
)


def validate_languages(value: str) -> None:
    """A brand's languages: codes this installation has a catalogue for (settings.LANGUAGES), at least one."""
    codes = value.split()
    if not codes:
        raise ValidationError("List at least one language.")
    unknown = [code for code in codes if code not in language_codes()]
    if unknown:
        raise ValidationError(f"No catalogue for {', '.join(unknown)}; choose among {', '.join(language_codes())}.")


class Brand(models.Model):
    """A website that embeds the chat widget, with the origins allowed to embed and open it."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # Origins ("https://shop.example") whose pages may embed the widget and open
    # the visitor socket, one per line; the server's own hosts are always allowed.
    allowed_origins = models.TextField(blank=True, default="")
    welcome_message = models.TextField(default=DEFAULT_WELCOME_MESSAGE)
    # What "warn" posts when the expert gives no words of their own (seeds/000).
    politeness_reminder = models.TextField(default=DEFAULT_POLITENESS_REMINDER)
    is_active = models.BooleanField(default=True, help_text="An inactive brand's widget is refused (4404).")
    # Blocks also hold on the keyed hash of the visitor's network address, so a
    # visitor who clears storage does not come straight back. A brand whose
    # visitors share addresses (a campus, a company) may turn this off.
    block_by_address = models.BooleanField(default=True)
    # Extra words (one per line) that the abuse filter flags in visitors' messages.
    flagged_words = models.TextField(blank=True, default="")
    # A waiting question stays in the experts' queue this long, the visitor there or not;
    # then the worker closes it as unanswered (visitors/tasks.py).
    waiting_days = models.PositiveSmallIntegerField(default=7, validators=[MinValueValidator(1), MaxValueValidator(365)])
    # A claimed conversation with no message for this long, while the visitor is away,
    # ends as inactive and frees the expert's place (visitors/tasks.py).
    idle_minutes = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(10080)])
    # The languages the widget speaks to this brand's visitors (codes from settings.LANGUAGES, space-separated):
    # the browser's preferred one among them, else default_language (docs/faces.md, "Languages").
    languages = models.CharField(max_length=100, default="en", validators=[validate_languages],
                                 help_text="Language codes, space-separated, e.g. \"en fr\".")
    default_language = models.CharField(max_length=10, default="en", validators=[validate_languages],
                                        help_text="One of the languages: for browsers that prefer none of them.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.default_language and self.default_language not in self.language_list:
            raise ValidationError({"default_language": "The default language must be one of the brand's languages."})

    @property
    def language_list(self) -> list[str]:
        """The brand's languages that this installation still has, the default first if none is left."""
        codes = [code for code in dict.fromkeys(self.languages.split()) if code in language_codes()]
        return codes or [self.default_language if self.default_language in language_codes() else language_codes()[0]]

    @property
    def origin_list(self) -> list[str]:
        return [line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines() if line.strip()]


class Visitor(models.Model):
    """One anonymous person on one brand's site, known by the token their widget keeps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="visitors")
    # SHA-256 of the token the widget holds; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    nickname = models.CharField(max_length=40, blank=True, default="")
    # Keyed hash (HMAC) of the network address last seen; never the address itself.
    address_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)
    # When the visitor asked for erasure (``data.erase``); what an open report or a block still held
    # then is erased by the retention purge once it no longer holds (moderation/privacy.py).
    erased_at = models.DateTimeField(null=True, blank=True)
    # When the visitor's last socket closed; null while one is open (set at hello).
    # The queue shows it ("away for 2 h"); the inactivity sweep ends only conversations of visitors away.
    away_since = models.DateTimeField(null=True, blank=True)
    # The address the visitor gave to hear of answers (contact.set), and when they consented;
    # never shown to experts; erased with the visitor and by the retention purge (moderation/privacy.py).
    email = models.EmailField(max_length=254, blank=True, default="")
    email_consented_at = models.DateTimeField(null=True, blank=True)
    # The widget's language when the visitor gave that address (a code of settings.LANGUAGES): the e-mails'
    # language; blank: the brand's default_language.
    language = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        indexes = [
            # The follow-up sweep's candidates: visitors away who can be told by e-mail (visitors/followups.py).
            models.Index(fields=["away_since"], condition=~models.Q(email=""), name="visitor_away_reachable"),
        ]

    def __str__(self):
        return self.nickname or f"Visitor {str(self.id)[:8]}"


class Conversation(models.Model):
    """One visitor's question and the talk that follows, with at most one expert at a time."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for an expert"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class EndedBy(models.TextChoices):
        VISITOR = "visitor"
        EXPERT = "expert"
        MODERATOR = "moderator"
        SYSTEM = "system"

    class EndReason(models.TextChoices):
        # Ended by the worker (ended_by system): no message for Brand.idle_minutes while the visitor was away.
        INACTIVE = "inactive"
        # Closed by the worker: nobody claimed it within Brand.waiting_days.
        UNANSWERED = "unanswered"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    expert = models.ForeignKey(
        "experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    topic = models.ForeignKey("experts.Topic", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    ended_by = models.CharField(max_length=10, choices=EndedBy.choices, blank=True, default="")
    # Why the system ended it; blank when a person did.
    end_reason = models.CharField(max_length=10, choices=EndReason.choices, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The seq of the newest message; the next one gets last_seq + 1, under a row lock.
    last_seq = models.PositiveIntegerField(default=0)
    # Highest seq each side has reported reading.
    visitor_read_seq = models.PositiveIntegerField(default=0)
    expert_read_seq = models.PositiveIntegerField(default=0)
    # Experts the visitor asked not to talk to again ("next expert"), never offered it again.
    excluded_experts = models.ManyToManyField("experts.ExpertProfile", blank=True, related_name="excluded_from")
    rating_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.TextField(blank=True, default="")
    rated_at = models.DateTimeField(null=True, blank=True)
    # How many times the rating was changed after it was first given (at most CHAT_RATING_CHANGES).
    rating_changes = models.PositiveSmallIntegerField(default=0)
    # The brand's page the question was asked from, as the widget said at the start (path without
    # query string, and the page's title): shown to experts; blank when not said. Personal
    # (an order page's title), so the retention purge and erasure blank both.
    page_path = models.CharField(max_length=200, blank=True, default="")
    page_title = models.CharField(max_length=200, blank=True, default="")
    # When the follow-up sweep last queued an e-mail of unread answers for it (at most one per
    # CHAT_FOLLOWUP_MIN_INTERVAL_SECONDS; only answers stored after it count for the next one).
    followup_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The visitor's open conversation (hello, start, send).
            models.Index(fields=["visitor", "status"], name="conv_visitor_status"),
            # A brand's queue of waiting conversations, oldest first.
            models.Index(fields=["brand", "status", "created_at"], name="conv_brand_status_created"),
            # An expert's active conversations (welcome, capacity).
            models.Index(fields=["expert", "status"], name="conv_expert_status"),
        ]

    def __str__(self):
        return f"Conversation {str(self.id)[:8]} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Message(models.Model):
    """One line of a conversation, numbered by ``seq`` without gaps from 1."""

    class Author(models.TextChoices):
        VISITOR = "visitor"
        EXPERT = "expert"
        SYSTEM = "system"

    class Kind(models.TextChoices):
        TEXT = "text"
        WARNING = "warning"  # the expert's politeness warning, shown plainly to the visitor
        NOTICE = "notice"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    author = models.CharField(max_length=10, choices=Author.choices)
    expert = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL)
    # The name shown with the message, kept as it was when sent.
    author_name = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(max_length=2000)
    # The sender's id for this message; a retry with the same id returns this row.
    client_id = models.CharField(max_length=100, null=True, blank=True)
    # Set when the abuse filter flagged a visitor message (shown to the expert).
    flagged = models.BooleanField(default=False)
    # A system message's stable code and parameters ({"code": ..., "params": {...}}, chatplatform/i18n.py), rendered
    # in each reader's language; `text` keeps the English. Null for people's messages and for words an expert wrote.
    system = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            # Serves replay (seq > n, in order) and guarantees no repeated seq.
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_conversation_seq"),
            # Serves the idempotent retry lookup and guarantees one row per client_id.
            models.UniqueConstraint(
                fields=["conversation", "author", "client_id"], name="message_conversation_author_client"
            ),
        ]

    def __str__(self):
        return f"#{self.seq} {self.author}: {self.text[:40]}"


# A conversation the visitor may still write in (at most one per visitor): the one definition.
OPEN_STATUSES = (Conversation.Status.WAITING, Conversation.Status.ACTIVE)


class ResumeLink(models.Model):
    """One link an e-mail carried to reopen a conversation (``/c/<signed>/``), usable once.

    The signed part names this row's nonce; opening the link hands the visitor a
    fresh token (docs/security.md), so a second opening is refused ("used").
    """

    nonce = models.CharField(max_length=32, unique=True)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="resume_links")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="resume_links")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Resume link {self.nonce[:8]} ({'used' if self.used_at else 'unused'})"


class MailOptOut(models.Model):
    """An e-mail address that unsubscribed: no visitor e-mail goes to it again, for any brand.

    Kept as a keyed hash (HMAC) of the lowercased address, never the address itself.
    """

    address_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Opt-out {self.address_hash[:12]}"
