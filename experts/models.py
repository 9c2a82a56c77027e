"""Experts: their profiles, the topics they answer, and their live connections."""

from django.conf import settings
from django.db import models


class Topic(models.Model):
    """A subject a brand's visitors ask about and experts choose to answer."""

    brand = models.ForeignKey("visitors.Brand", on_delete=models.CASCADE, related_name="topics")
    slug = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["brand", "name"]
        constraints = [models.UniqueConstraint(fields=["brand", "slug"], name="topic_brand_slug")]

    def __str__(self):
        return f"{self.name} ({self.brand.slug})"


class ExpertProfile(models.Model):
    """A community member who answers visitors of some brands: a passionate customer, not staff."""

    class Presence(models.TextChoices):
        ONLINE = "online"
        AWAY = "away"
        OFFLINE = "offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert_profile")
    display_name = models.CharField(max_length=60)
    bio = models.TextField(blank=True, default="", max_length=500)
    avatar_url = models.URLField(blank=True, default="")
    brands = models.ManyToManyField("visitors.Brand", related_name="experts")
    topics = models.ManyToManyField(Topic, blank=True, related_name="experts")
    # Most active conversations at once; a claim past it is refused with `capacity`.
    capacity = models.PositiveSmallIntegerField(default=3)
    # The status the expert chose. They are offered new conversations only when
    # it is online AND at least one of their sockets is connected.
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.ONLINE)
    # A suspended expert's sockets are closed and refused (community managers set it).
    is_suspended = models.BooleanField(default=False)
    # The expert chose an e-mail digest of waiting questions (experts/tasks.py), to their user's e-mail.
    digest_enabled = models.BooleanField(default=False)
    # When the last digest was queued: the next one comes CHAT_EXPERT_DIGEST_MINUTES later at the earliest.
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    # The dashboard's language (a code from settings.LANGUAGES); blank: the browser's (Accept-Language).
    # No model choices: adding a language to settings.LANGUAGES needs no migration (the profile form lists them).
    language = models.CharField(max_length=10, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name

    @property
    def public_id(self) -> str:
        return str(self.pk)


class ExpertConnection(models.Model):
    """One open expert socket, kept in the database so every server process sees presence."""

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by the socket's heartbeat; a row silent too long is from a dead process.
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["expert", "seen_at"], name="expertconn_expert_seen")]


class PushSubscription(models.Model):
    """One browser's Web Push subscription of an expert (the dashboard's "Notify me").

    What the browser's ``PushManager.subscribe()`` returned: the push service's
    URL for this browser and the keys the payload is encrypted to. The worker
    deletes it when the push service answers 404 or 410 (experts/tasks.py).
    """

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="push_subscriptions")
    # Unique: one browser is one subscription; subscribing it again (another expert) moves it.
    endpoint = models.URLField(max_length=1000, unique=True)
    # The browser's P-256 public key and auth secret, base64url as the browser gives them.
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Push subscription of {self.expert}"

    def info(self) -> dict:
        """The subscription as pywebpush takes it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushNotice(models.Model):
    """The newest event of one conversation an expert was pushed about (experts/tasks.py).

    The push sweep notifies an event only past ``seq`` (never twice) and not again within
    CHAT_PUSH_MIN_INTERVAL_SECONDS of ``notified_at`` (no push per message).
    """

    expert = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("visitors.Conversation", on_delete=models.CASCADE, related_name="+")
    # 0: the new question; else the seq of the newest visitor message pushed about.
    seq = models.PositiveIntegerField(default=0)
    notified_at = models.DateTimeField()

    class Meta:
        constraints = [
            # The sweep's lookup of (expert, conversation) and one row per pair.
            models.UniqueConstraint(fields=["expert", "conversation"], name="pushnotice_expert_conversation"),
        ]


class CommunityPost(models.Model):
    """One thread in the experts' community panel: a hard case, a tip, a question to peers."""

    author = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="community_posts")
    # The brand whose space it is in: only that brand's experts (and managers) see it. Null: the
    # cross-brand space, seen by the experts of the brands that opted in (Brand.community_cross_brand).
    brand = models.ForeignKey("visitors.Brand", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="community_posts", verbose_name="space")
    title = models.CharField(max_length=150)
    body = models.TextField(max_length=10000)
    # The conversation this post shares ("Share this experience"), kept for the
    # author's own reference; its transcript is never shown through the post.
    source_conversation = models.ForeignKey(
        "visitors.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The post's or its newest reply's time: the panel lists newest activity first.
    last_activity_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            # One space's panel, newest activity first.
            models.Index(fields=["brand", "last_activity_at"], name="communitypost_brand_activity"),
        ]

    def __str__(self):
        return self.title


class CommunityReply(models.Model):
    """One expert's answer in a community thread."""

    post = models.ForeignKey(CommunityPost, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(ExpertProfile, on_delete=models.CASCADE, related_name="community_replies")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "created_at"]
        verbose_name_plural = "community replies"

    def __str__(self):
        return f"Reply by {self.author} on {self.post}"


class CannedReply(models.Model):
    """One ready answer for the dashboard's message box: a brand's (managers edit them in the admin)
    or one expert's own (edited in the dashboard). Exactly one of ``brand`` and ``expert`` is set.

    ``text`` may hold ``{visitor}`` and ``{expert}``, filled in when the expert inserts it
    (the visitor's nickname, the expert's display name; experts/canned.py).
    """

    brand = models.ForeignKey("visitors.Brand", null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies")
    expert = models.ForeignKey(ExpertProfile, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_replies")
    # What the picker lists and matches when the expert types "/" and a few letters.
    title = models.CharField(max_length=80)
    text = models.TextField(max_length=2000)
    # The picker lists a brand's replies in this order (the seeded politeness reminder first).
    position = models.PositiveSmallIntegerField(default=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title", "pk"]
        verbose_name_plural = "canned replies"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(brand__isnull=False, expert__isnull=True) | models.Q(brand__isnull=True, expert__isnull=False)),
                name="cannedreply_brand_or_expert",
            ),
        ]

    def __str__(self):
        return self.title


class ConversationTransfer(models.Model):
    """One hand-over of a conversation from an expert to a named colleague (``conversation.transfer``).

    The audit record of who passed what to whom, and the note the new expert reads
    with the history (experts/transfer.py).
    """

    conversation = models.ForeignKey("visitors.Conversation", on_delete=models.CASCADE, related_name="transfers")
    from_expert = models.ForeignKey(ExpertProfile, null=True, on_delete=models.SET_NULL, related_name="+")
    to_expert = models.ForeignKey(ExpertProfile, null=True, on_delete=models.SET_NULL, related_name="+")
    # For the colleague only; the visitor never sees it.
    note = models.TextField(blank=True, default="", max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Transfer of {self.conversation_id} to {self.to_expert}"
class ExpertInvitation(models.Model):
    """A community manager's invitation to someone, by e-mail, to answer a brand's visitors as an expert.

    The e-mailed link carries a signed token (experts/invitations.py) naming this row and its
    ``nonce``; it opens a page where the invitee chooses a username, a password and a
    profile. It works once, until ``expires_at``, and not after a revocation or a resend
    (which makes a new nonce, so the old link stops working).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REVOKED = "revoked"

    email = models.EmailField()
    brand = models.ForeignKey("visitors.Brand", on_delete=models.CASCADE, related_name="invitations")
    # Offered to the invitee, who may change them on the sign-up page (any of the brand's topics).
    topics = models.ManyToManyField(Topic, blank=True, related_name="+")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Random, in the signed token: a resend replaces it and so voids the link sent before.
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the newest link was queued (the invitation itself, or its last resend).
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # The account the invitee made (SET_NULL: the row stays as a record if it is deleted).
    accepted_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The admin's default list: pending invitations, newest first.
            models.Index(fields=["status", "-created_at"], name="invitation_status_created"),
        ]

    def __str__(self):
        return f"{self.email} → {self.brand}"
