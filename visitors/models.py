"""Brands, their anonymous visitors, conversations and messages: the messaging core."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_noop

from chatplatform.i18n import language_codes

from .look import DEFAULT_LAUNCHER_ICON, LAUNCHER_ICON_CHOICES

# Marked for translation: a brand that kept a default shows it in each visitor's language (visitors/views.py).
DEFAULT_POLITENESS_REMINDER = gettext_noop(
    "I'm a member of the community. I'm here to help and to share my knowledge. "
    "Please remain polite and respectful!"
)
# The charter's do's and don'ts for a visitor who had a bad experience (seeds/003): the dashboard's
# side note when a visitor says so or a message is flagged (docs/faces.md, "Guidance").
DEFAULT_EXPERT_GUIDANCE = """Some do's:
• Be empathetic.
• Ask them if they would like to talk about the negative experience.
• Validate what the visitor is feeling.
• Remember why the visitor wanted to chat in the first place, if it is not about their negative experience.
Some don'ts:
• Insinuate in any way that the visitor's experience was their own fault.
• Interrogate them if they do not wish to talk about it.
• Ask them to name names.
• Derail from what the visitor wanted to discuss.
We are not here for witch hunts: listen, and if they want, give them the options to report."""
# What a visitor writes when they had a bad experience: a visitor message containing one of these
# (case-insensitive) shows the guidance note to the expert.
DEFAULT_BAD_EXPERIENCE_PHRASES = """bad experience
another expert
previous expert
last expert
other expert
was rude
not helpful
unhelpful"""
# The report options an expert passes to the visitor (the widget's own buttons).
DEFAULT_REPORT_OPTIONS = (
    "If you wish, you can report what happened: use \"Report a problem\" at the bottom of this chat window, "
    "and a community manager will look at it. You can also choose \"Talk to another expert\" at any time."
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
    # The experts' community panel is per brand; a brand that opts in also gives its experts the
    # cross-brand space, shared with the experts of every other brand that opted in (experts/selectors.py).
    community_cross_brand = models.BooleanField(
        default=False, verbose_name="cross-brand community space",
        help_text="Its experts also read and post in the community space shared by every brand that opts in.",
    )

    # The brand's look (docs/faces.md, "The brand's look"); visitors/look.py turns it into the widget's colours.
    class LauncherPosition(models.TextChoices):
        BOTTOM_RIGHT = "bottom-right", "Bottom right"
        BOTTOM_LEFT = "bottom-left", "Bottom left"

    # The widget's header, the launcher and the primary buttons; the text on it (white or near-black) is
    # chosen for contrast, and a colour on which neither reaches WCAG AA is refused by the admin form.
    color = models.CharField(
        "colour", max_length=7, default="#1f4f8a", validators=[RegexValidator(r"^#[0-9a-f]{6}$", "A colour as #rrggbb.")],
        help_text="The widget's header, launcher and buttons. The text on it is white or near-black, whichever reads "
                  "better; a colour on which neither reaches a contrast of 4.5:1 (WCAG AA) is refused.",
    )
    # Re-encoded as a PNG of at most 256 px by the admin form (visitors/look.py); blank: the brand's initials.
    logo = models.ImageField(upload_to="brand-logos/", blank=True,
                             help_text="Shown in the widget's header (PNG, JPEG, WebP or GIF; re-encoded, at most "
                                       "256 px). Without one the widget shows the brand's initials.")
    launcher_icon = models.CharField(max_length=20, choices=LAUNCHER_ICON_CHOICES, default=DEFAULT_LAUNCHER_ICON,
                                     help_text="The icon on the launcher button.")
    launcher_position = models.CharField(max_length=12, choices=LauncherPosition.choices,
                                         default=LauncherPosition.BOTTOM_RIGHT)
    # A line under the brand's name in the widget's header, and the launcher's tooltip; blank: none.
    greeting = models.CharField(max_length=120, blank=True, default="",
                                help_text="A short line under the brand's name in the widget, e.g. "
                                          "“Hi! Our community answers in minutes.”")
    # A question with a topic is offered first to the experts of that topic (and to those who chose
    # no topic); nobody of them claimed it within this many seconds, the worker offers it to every
    # online expert of the brand (experts/topic_routing.py). 0: to everyone at once.
    topic_wait_seconds = models.PositiveIntegerField(default=120, validators=[MaxValueValidator(86400)])
    # The side note an expert sees when a visitor says they had a bad experience or a message is flagged.
    expert_guidance = models.TextField(default=DEFAULT_EXPERT_GUIDANCE)
    # One per line: a visitor message containing one of them shows the guidance note (case-insensitive).
    bad_experience_phrases = models.TextField(blank=True, default=DEFAULT_BAD_EXPERIENCE_PHRASES)
    # What the guidance note's "Offer the report options" puts in the expert's message box.
    report_options = models.TextField(default=DEFAULT_REPORT_OPTIONS)
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
    # Set while a new question is offered only to the experts of its topic: until then. The worker's
    # sweep then offers it to the whole brand and clears it (experts/topic_routing.py); null: offered to all.
    topic_offer_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The visitor's open conversation (hello, start, send).
            models.Index(fields=["visitor", "status"], name="conv_visitor_status"),
            # A brand's queue of waiting conversations, oldest first.
            models.Index(fields=["brand", "status", "created_at"], name="conv_brand_status_created"),
            # An expert's active conversations (welcome, capacity).
            models.Index(fields=["expert", "status"], name="conv_expert_status"),
            # The topic sweep's due questions (only the few still offered to their topic).
            models.Index(fields=["topic_offer_until"], condition=models.Q(topic_offer_until__isnull=False),
                         name="conv_topic_offer_until"),
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
    # The picture sent with this message (visitors/attachments.py); one message per picture. Emptied
    # when the picture is removed (a manager, erasure, retention): the message stays, without it.
    attachment = models.OneToOneField(
        "visitors.Attachment", null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )

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


def attachment_storage():
    """Where pictures are kept: the ``attachments`` storage of settings.STORAGES (docs/operations.md)."""
    from django.core.files.storage import storages

    return storages["attachments"]


class Attachment(models.Model):
    """One picture uploaded into a conversation (POST /attachments/), re-encoded, with its thumbnail.

    Usable once, in its own conversation, by its uploader: a ``message.send``
    naming it links it (``Message.attachment``). Files live in the
    ``attachments`` storage under names nobody can guess, and are served only
    through signed or session-checked URLs (visitors/attachments.py).
    """

    class Uploader(models.TextChoices):
        VISITOR = "visitor"
        EXPERT = "expert"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.CharField(max_length=10, choices=Uploader.choices)
    # The uploading expert (None for the visitor, who is the conversation's).
    expert = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(storage=attachment_storage, max_length=200)
    thumbnail = models.FileField(storage=attachment_storage, max_length=200)
    # What is stored (after re-encoding), not what was sent.
    content_type = models.CharField(max_length=30)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes of the stored picture.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)  # the sweep of never-sent uploads

    def __str__(self):
        return f"Picture {str(self.id)[:8]} ({self.width}x{self.height})"
