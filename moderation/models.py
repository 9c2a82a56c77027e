"""Moderation records: blocks, alerts to community managers, report tickets, and the audit trail."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud


def new_reference() -> str:
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(7))


class BlockQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class Block(models.Model):
    """A visitor kept out of a brand's chat: by their token and, unless the brand turned it off,
    by the keyed hash of their network address, until it expires or a manager lifts it."""

    brand = models.ForeignKey("visitors.Brand", on_delete=models.CASCADE, related_name="blocks")
    visitor = models.ForeignKey("visitors.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="blocks")
    # Keyed hash of the address the visitor came from; empty when the brand blocks by token only.
    address_hash = models.CharField(max_length=64, blank=True, default="")
    conversation = models.ForeignKey("visitors.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(max_length=1000)
    # Who blocked: an expert (from a conversation) or a community manager (from the admin).
    created_by = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL)
    created_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", verbose_name="created by manager")
    created_at = models.DateTimeField(auto_now_add=True)
    # None: until a community manager lifts it.
    expires_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lift_reason = models.TextField(blank=True, default="")

    objects = BlockQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # "Is this visitor blocked?" at hello and on every frame.
            models.Index(fields=["visitor", "lifted_at"], name="block_visitor_lifted"),
            # "Is this address blocked on this brand?" at hello.
            models.Index(fields=["brand", "address_hash", "lifted_at"], name="block_brand_address"),
        ]

    def __str__(self):
        return f"Block {self.pk} ({self.status})"

    @property
    def status(self) -> str:
        if self.lifted_at:
            return "lifted"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class Alert(models.Model):
    """Something a community manager should look at, raised by an expert or by the system."""

    class Kind(models.TextChoices):
        EXPERT = "expert", "Raised by an expert"
        BLOCK = "block", "Visitor blocked"
        ABUSE = "abuse", "Repeated abusive language"
        FLOOD = "flood", "Flooding"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        CLOSED = "closed"

    brand = models.ForeignKey("visitors.Brand", on_delete=models.CASCADE, related_name="alerts")
    conversation = models.ForeignKey("visitors.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    # The visitor it is about, when no conversation says it (a flooding alert): a manager may block them from it.
    visitor = models.ForeignKey("visitors.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.TextField(max_length=2000, blank=True, default="")
    # None for alerts the system raised.
    raised_by = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # System alerts raised at most once per key: "abuse:<conversation id>", "flood:<visitor id>:<UTC hour>".
    # Unique (below), so two processes racing to raise the same alert make one. None: no such rule.
    dedupe_key = models.CharField(max_length=80, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("moderate", "Can follow the live moderation feed")]
        # The open alerts, newest first (live feed welcome, overview).
        indexes = [models.Index(fields=["status", "created_at"], name="alert_status_created")]
        # "Alert once" (moderation/services.py, _raise_alert); its index also serves the read before the insert.
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=models.Q(dedupe_key__isnull=False), name="alert_once_per_key"),
        ]

    def __str__(self):
        return f"Alert {self.pk}: {self.get_kind_display()}"


class ReportTicket(models.Model):
    """A report of a bad experience, filed by a visitor or an expert, worked through by a manager."""

    class Category(models.TextChoices):
        DISRESPECTFUL = "disrespectful"
        UNHELPFUL = "unhelpful"
        INAPPROPRIATE = "inappropriate"
        ADVERTISING = "advertising"
        PRIVACY = "privacy"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_REVIEW = "in_review", "In review"
        RESOLVED = "resolved"
        DISMISSED = "dismissed"

    # Which status may follow which (open → in review → resolved or dismissed).
    TRANSITIONS = {
        Status.OPEN: {Status.IN_REVIEW, Status.DISMISSED},
        Status.IN_REVIEW: {Status.RESOLVED, Status.DISMISSED, Status.OPEN},
        Status.RESOLVED: {Status.IN_REVIEW},
        Status.DISMISSED: {Status.IN_REVIEW},
    }

    reference = models.CharField(max_length=12, unique=True, default=new_reference)
    brand = models.ForeignKey("visitors.Brand", on_delete=models.CASCADE, related_name="reports")
    conversation = models.ForeignKey("visitors.Conversation", null=True, blank=True, on_delete=models.SET_NULL)
    # Who filed it: a visitor, or an expert (then ``filed_by_expert`` is set).
    filed_by = models.CharField(max_length=10, choices=[("visitor", "Visitor"), ("expert", "Expert")])
    visitor = models.ForeignKey("visitors.Visitor", null=True, blank=True, on_delete=models.SET_NULL)
    filed_by_expert = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL)
    category = models.CharField(max_length=15, choices=Category.choices)
    description = models.TextField(max_length=4000)
    # Optional, for follow-up only; purged with the conversation's personal data.
    email = models.EmailField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Open tickets by age (overview, admin filters).
        indexes = [models.Index(fields=["status", "created_at"], name="report_status_created")]

    def __str__(self):
        return self.reference


class ModerationEvent(models.Model):
    """One moderation action, as it happened. Append-only: never edited, never deleted from the admin."""

    class Action(models.TextChoices):
        WARN = "warn"
        END = "end"
        ALERT = "alert"
        BLOCK = "block"
        REPORT = "report"
        FLAG = "flag"
        FLOOD = "flood"
        LIFT = "lift"
        EXTEND = "extend"
        ACKNOWLEDGE = "acknowledge"
        CLOSE = "close"
        TICKET = "ticket"
        SUSPEND = "suspend"
        REINSTATE = "reinstate"
        REMOVE = "remove"  # a manager removed a picture from a conversation (attachments/services.py)

    action = models.CharField(max_length=15, choices=Action.choices)
    # Who acted: an expert, a community manager (user), the visitor, or the system.
    actor_kind = models.CharField(max_length=10, choices=[("expert", "Expert"), ("manager", "Community manager"), ("visitor", "Visitor"), ("system", "System")])
    expert = models.ForeignKey("experts.ExpertProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    brand = models.ForeignKey("visitors.Brand", null=True, blank=True, on_delete=models.SET_NULL)
    conversation = models.ForeignKey("visitors.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_events")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class ManagerScope(models.Model):
    """A community manager limited to some brands: they see and act only on those brands' conversations,
    visitors, blocks, alerts, report tickets and audit trail, in the admin and on the live feed.

    A staff user without a scope (and every superuser) sees every brand; a scope with no brand, none.
    Kept by superusers (the managers' group cannot change it).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_scope")
    brands = models.ManyToManyField("visitors.Brand", blank=True, related_name="+")

    class Meta:
        verbose_name = "manager's brands"
        verbose_name_plural = "managers' brands"

    def __str__(self):
        return f"{self.user}: {', '.join(b.slug for b in self.brands.all()) or 'no brand'}"
