"""The community managers' admin: blocks, alerts, report tickets, the audit trail, manager scopes, and
what moderation adds to the other apps' pages (``extend_admins``: brand scope, block, suspend and
reinstate actions, the moderation history and flag badges, search by report reference).

Visitor-written text is only ever shown through Django's escaping (no
mark_safe on it anywhere); the audit trail is read-only for everyone.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from chatplatform.admin import ReadOnlyAdminMixin, ReadOnlyInline, extensions
from chatplatform.errors import ChatError
from experts.models import CannedReply, ConversationTransfer, ExpertProfile
from visitors.admin import BrandScopedAdmin, IdSearchMixin
from visitors.admin import MessageInline as BaseMessageInline
from visitors.models import Conversation, Visitor

from . import history, scoping, services
from .models import Alert, Block, ManagerScope, ModerationEvent, ReportTicket
from .permissions import COMMUNITY_MANAGERS


class BlockStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("lifted", "Lifted")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)
        if self.value() == "expired":
            return queryset.filter(lifted_at__isnull=True, expires_at__lte=now)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class ModerationMedia:
    css = {"all": ["moderation/admin.css"]}


BLOCK_LENGTHS = [("1", "1 hour"), ("24", "24 hours"), ("168", "7 days"), ("720", "30 days"), ("until", "Until lifted"),
                 ("other", "Another number of hours")]


class BlockVisitorForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
                             help_text="Why (kept in the audit trail, shown to other managers).")
    length = forms.ChoiceField(choices=BLOCK_LENGTHS, initial="24", label="For how long")
    hours = forms.IntegerField(required=False, min_value=1, label="Hours",
                               help_text="Only for \u201canother number of hours\u201d.")
    by_address = forms.BooleanField(required=False, initial=True, label="Also block their network address",
                                    help_text="Its keyed hash, as an expert's block does (an IPv6 address's whole "
                                              "/64 by default, CHAT_IPV6_PREFIX); only where the brand blocks by address.")

    def clean(self):
        data = super().clean()
        length = data.get("length")
        if length == "other" and not data.get("hours"):
            self.add_error("hours", "Give the number of hours.")
        data["duration_hours"] = None if length == "until" else data.get("hours") if length == "other" else int(length or 0)
        return data


def block_from_admin(model_admin, request, queryset, targets):
    """The intermediate page and the blocks of the "Block the visitor" actions.

    ``targets`` maps each selected row to (visitor, conversation, alert, report);
    rows that name no visitor are skipped and said so.
    """
    rows = [(row, *targets(row)) for row in queryset]
    blockable = [r for r in rows if r[1] is not None]
    if "apply" in request.POST:
        form = BlockVisitorForm(request.POST)
        if form.is_valid():
            done, refused = 0, []
            for _row, visitor, conversation, alert, report in blockable:
                try:
                    services.block_visitor_as_manager(
                        user=request.user, visitor=visitor, reason=form.cleaned_data["reason"],
                        duration_hours=form.cleaned_data["duration_hours"], by_address=form.cleaned_data["by_address"],
                        conversation=conversation, alert=alert, report=report,
                    )
                    done += 1
                except ChatError as exc:
                    refused.append(exc.detail)
            if refused:
                model_admin.message_user(request, " ".join(dict.fromkeys(refused)), messages.ERROR)
            if done:
                model_admin.message_user(request, f"Blocked {done} visitor(s); their chat windows were closed.", messages.SUCCESS)
            if len(blockable) < len(rows):
                model_admin.message_user(request, f"{len(rows) - len(blockable)} selected row(s) name no visitor: nothing to block.",
                                         messages.WARNING)
            return None
    else:
        form = BlockVisitorForm()
    return render(request, "admin/moderation/block_visitors.html", {
        **model_admin.admin_site.each_context(request), "title": "Block visitors", "rows": rows, "form": form,
        "blockable": blockable, "action": "block_visitors", "opts": model_admin.model._meta,
    })


class BlockActionMixin:
    """Adds "Block the visitor…" to a list of rows that each lead to a visitor."""

    def block_targets(self, row):
        raise NotImplementedError

    def has_block_permission(self, request):
        return request.user.has_perm("moderation.add_block")

    @admin.action(description="Block the visitor… (asks for a reason and a length)", permissions=["block"])
    def block_visitors(self, request, queryset):
        return block_from_admin(self, request, queryset, self.block_targets)


class LiftForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, help_text="Why the block is lifted (kept in the audit trail).")


@admin.register(Block)
class BlockAdmin(BrandScopedAdmin, IdSearchMixin, admin.ModelAdmin):
    # Narrow columns, so the list fits a 1366 px screen beside the admin's menu.
    list_display = ["visitor_name", "brand_slug", "who", "created_at", "state", "by_address", "short_reason"]
    list_display_links = ["visitor_name"]
    list_filter = [BlockStatusFilter, "brand"]
    list_select_related = ["brand", "visitor", "created_by", "created_by_user"]
    readonly_fields = ["brand", "visitor", "conversation", "reason", "created_by", "created_by_user", "created_at", "expires_at",
                       "lifted_at", "lifted_by", "lift_reason", "by_address"]
    exclude = ["address_hash"]
    actions = ["lift_blocks", "extend_24h", "extend_7d"]
    Media = ModerationMedia

    @admin.display(description="status")
    def status_label(self, obj):
        return obj.status

    @admin.display(description="visitor", ordering="visitor__nickname")
    def visitor_name(self, obj):
        name = str(obj.visitor) if obj.visitor_id else f"Block {obj.pk}"
        return name if len(name) <= 24 else name[:23] + "\u2026"

    @admin.display(description="brand", ordering="brand__slug")
    def brand_slug(self, obj):
        return obj.brand.slug

    @admin.display(description="status", ordering="expires_at")
    def state(self, obj):
        status = obj.status
        if status != "active":
            return status
        return f"active until {date_format(timezone.localtime(obj.expires_at), 'DATETIME_FORMAT')}" if obj.expires_at else "active until lifted"

    @admin.display(description="by address", boolean=True)
    def by_address(self, obj):
        return bool(obj.address_hash)

    @admin.display(description="by")
    def who(self, obj):
        if obj.created_by_id:
            return obj.created_by.display_name
        return obj.created_by_user.get_username() if obj.created_by_user_id else "-"

    def more_search(self, term, as_uuid):
        return Q(visitor_id=as_uuid) if as_uuid else Q(pk__in=[])

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 40 else obj.reason[:39] + "\u2026"

    def has_add_permission(self, request):
        return False  # experts block from a conversation; managers lift or extend

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift the selected blocks (asks for a reason)", permissions=["change"])
    def lift_blocks(self, request, queryset):
        if "apply" in request.POST:
            form = LiftForm(request.POST)
            if form.is_valid():
                for block in queryset:
                    services.lift_block(user=request.user, block=block, reason=form.cleaned_data["reason"])
                self.message_user(request, f"Lifted {queryset.count()} block(s).", messages.SUCCESS)
                return None
        else:
            form = LiftForm()
        return render(request, "admin/moderation/lift_blocks.html", {
            **self.admin_site.each_context(request), "title": "Lift blocks", "blocks": queryset, "form": form,
            "action": "lift_blocks", "opts": self.model._meta,
        })

    def _extend(self, request, queryset, hours):
        changed = [services.extend_block(user=request.user, block=b, hours=hours) for b in queryset]
        self.message_user(request, f"Extended {len(changed)} block(s) by {hours} hours (permanent and lifted ones are unchanged).")

    @admin.action(description="Extend the selected blocks by 24 hours", permissions=["change"])
    def extend_24h(self, request, queryset):
        self._extend(request, queryset, 24)

    @admin.action(description="Extend the selected blocks by 7 days", permissions=["change"])
    def extend_7d(self, request, queryset):
        self._extend(request, queryset, 24 * 7)


@admin.register(Alert)
class AlertAdmin(BrandScopedAdmin, IdSearchMixin, BlockActionMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "brand", "kind", "short_note", "raised_by", "status"]
    list_filter = ["status", "kind", "brand"]
    list_select_related = ["brand", "raised_by"]
    readonly_fields = ["brand", "conversation", "visitor", "kind", "note", "raised_by", "status", "acknowledged_by",
                       "acknowledged_at", "closed_at", "created_at"]
    nickname_lookup = "conversation__visitor__nickname"
    actions = ["acknowledge", "close", "block_visitors"]

    def block_targets(self, alert):
        visitor = alert.visitor or (alert.conversation.visitor if alert.conversation_id else None)
        return visitor, alert.conversation, alert, None

    @admin.display(description="note")
    def short_note(self, obj):
        return obj.note[:80]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Acknowledge the selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset):
        for alert in queryset:
            services.acknowledge_alert(user=request.user, alert_id=alert.pk)
        self.message_user(request, "Acknowledged.")

    @admin.action(description="Close the selected alerts", permissions=["change"])
    def close(self, request, queryset):
        for alert in queryset:
            services.close_alert(user=request.user, alert=alert)
        self.message_user(request, "Closed.")


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("1d", "Less than a day"), ("7d", "1 to 7 days"), ("old", "Older than 7 days")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "1d":
            return queryset.filter(created_at__gte=now - timedelta(days=1))
        if self.value() == "7d":
            return queryset.filter(created_at__lt=now - timedelta(days=1), created_at__gte=now - timedelta(days=7))
        if self.value() == "old":
            return queryset.filter(created_at__lt=now - timedelta(days=7))
        return queryset


class ReportTicketForm(forms.ModelForm):
    class Meta:
        model = ReportTicket
        fields = ["status", "assignee", "resolution_note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Tickets are worked by the community managers: active staff in their group
        # (a superuser who works tickets joins the group). Whoever holds the ticket
        # now stays listed, so saving it unchanged is never refused.
        managers = Q(is_active=True, is_staff=True, groups__name=COMMUNITY_MANAGERS)
        if self.instance.assignee_id:
            managers |= Q(pk=self.instance.assignee_id)
        users = get_user_model()
        self.fields["assignee"].queryset = users.objects.filter(managers).distinct().order_by(users.USERNAME_FIELD)

    def clean_status(self):
        status = self.cleaned_data["status"]
        current = self.instance.status
        if status != current and status not in ReportTicket.TRANSITIONS[current]:
            raise forms.ValidationError(
                f"A ticket cannot go from {self.instance.get_status_display()} to {ReportTicket.Status(status).label}."
            )
        return status


@admin.register(ReportTicket)
class ReportTicketAdmin(BrandScopedAdmin, IdSearchMixin, BlockActionMixin, admin.ModelAdmin):
    form = ReportTicketForm
    list_display = ["reference", "created_at", "brand", "category", "filed_by", "status", "assignee"]
    list_filter = ["status", "category", "brand", AgeFilter]
    list_select_related = ["brand", "assignee"]
    readonly_fields = ["reference", "brand", "conversation", "filed_by", "filed_by_expert", "category", "description",
                       "email", "created_at", "updated_at"]
    fields = readonly_fields[:8] + ["status", "assignee", "resolution_note", "created_at", "updated_at"]
    actions = ["assign_to_me", "mark_in_review", "mark_resolved", "mark_dismissed", "block_visitors"]

    def more_search(self, term, as_uuid):
        return Q(reference__iexact=term)

    def block_targets(self, report):
        visitor = report.visitor or (report.conversation.visitor if report.conversation_id else None)
        return visitor, report.conversation, None, report

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        original = ReportTicket.objects.get(pk=obj.pk)
        services.change_ticket(user=request.user, report=original, status=form.cleaned_data["status"],
                               assignee=form.cleaned_data["assignee"], resolution_note=form.cleaned_data["resolution_note"])

    def _move(self, request, queryset, status):
        moved, refused = 0, 0
        for report in queryset:
            try:
                services.change_ticket(user=request.user, report=report, status=status)
                moved += 1
            except ChatError:
                refused += 1
        self.message_user(request, f"Moved {moved} ticket(s)." + (f" {refused} could not take that step." if refused else ""),
                          messages.WARNING if refused else messages.SUCCESS)

    @admin.action(description="Assign the selected tickets to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        for report in queryset:
            services.change_ticket(user=request.user, report=report, assignee=request.user)
        self.message_user(request, "Assigned to you.")

    @admin.action(description="Mark in review", permissions=["change"])
    def mark_in_review(self, request, queryset):
        self._move(request, queryset, ReportTicket.Status.IN_REVIEW)

    @admin.action(description="Mark resolved", permissions=["change"])
    def mark_resolved(self, request, queryset):
        self._move(request, queryset, ReportTicket.Status.RESOLVED)

    @admin.action(description="Dismiss", permissions=["change"])
    def mark_dismissed(self, request, queryset):
        self._move(request, queryset, ReportTicket.Status.DISMISSED)


@admin.register(ModerationEvent)
class ModerationEventAdmin(BrandScopedAdmin, IdSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail: readable, never writable."""

    list_display = ["created_at", "what", "brand", "conversation_link"]
    list_filter = ["action", "actor_kind", "brand"]
    list_select_related = ["expert", "user", "brand"]
    date_hierarchy = "created_at"
    nickname_lookup = "conversation__visitor__nickname"
    readonly_fields = ["created_at", "what", "action", "actor_kind", "expert", "user", "brand", "conversation", "details"]
    fields = readonly_fields

    def more_search(self, term, as_uuid):
        return Q(details__report=term.upper())

    @admin.display(description="what happened")
    def what(self, obj):
        return history.describe(obj)

    @admin.display(description="conversation")
    def conversation_link(self, obj):
        return str(obj.conversation_id) if obj.conversation_id else "-"


class ModerationEventInline(ReadOnlyInline):
    model = ModerationEvent
    fields = ["created_at", "what"]
    readonly_fields = fields
    verbose_name_plural = "moderation history"

    @admin.display(description="what happened")
    def what(self, obj):
        return history.describe(obj)


class MessageInline(BaseMessageInline):
    """The transcript, with flagged messages marked as such: a warning badge, never a tick."""

    fields = ["seq", "created_at", "author", "author_name", "kind", "message_text", "picture", "flag"]
    readonly_fields = fields

    @admin.display(description="picture")
    def picture(self, obj):
        # The thumbnail through the manager's session; its page (visitors/admin.py) removes it, audited.
        if not obj.attachment_id:
            return ""
        return format_html('<a href="{}"><img src="{}" alt="Picture" style="max-width:120px;max-height:120px"></a>',
                           reverse("admin:visitors_attachment_change", args=[obj.attachment_id]),
                           reverse("attachment-thumbnail", args=[obj.attachment_id]))

    @admin.display(description="flagged")
    def flag(self, obj):
        if not obj.flagged:
            return ""
        return format_html('<span class="flag-badge" title="{}">\u26a0 Flagged</span>', "The abuse filter flagged this message")


@admin.register(ManagerScope)
class ManagerScopeAdmin(admin.ModelAdmin):
    """Which brands a manager is limited to (superusers only: the managers' group holds no permission on it)."""

    list_display = ["__str__"]
    filter_horizontal = ["brands"]


# --- what moderation adds to the other apps' admins (registered there, once) ----------------------


def _outside_scope(request, expert) -> bool:
    visible = scoping.brand_ids_for(request.user)
    return visible is not None and any(pk not in visible for pk in expert.brands.values_list("pk", flat=True))


def _set_suspension(model_admin, request, queryset, *, suspended: bool, done: str, not_done: str) -> None:
    # An expert who also answers for brands this manager does not see is changed by a manager of them all.
    shared = [e for e in queryset if _outside_scope(request, e)]
    for expert in queryset:
        if expert not in shared:
            services.set_suspended(user=request.user, expert=expert, suspended=suspended)
    if shared:
        model_admin.message_user(request, f"{not_done}: {', '.join(e.display_name for e in shared)} also answer(s) for "
                                 "brands you do not manage.", messages.WARNING)
    if len(shared) < len(queryset):
        model_admin.message_user(request, done)


@admin.action(description="Suspend the selected experts (closes their sockets now)", permissions=["change"])
def suspend(model_admin, request, queryset):
    _set_suspension(model_admin, request, queryset, suspended=True, done="Suspended.", not_done="Not suspended")


@admin.action(description="Reinstate the selected experts", permissions=["change"])
def reinstate(model_admin, request, queryset):
    _set_suspension(model_admin, request, queryset, suspended=False, done="Reinstated.", not_done="Not reinstated")


def _block_action(targets):
    """"Block the visitor…" for another app's list; ``targets(row)`` is (visitor, conversation, alert, report)."""

    @admin.action(description="Block the visitor… (asks for a reason and a length)", permissions=["moderation.add_block"])
    def block_visitors(model_admin, request, queryset):
        return block_from_admin(model_admin, request, queryset, targets)

    return block_visitors


def _reported_conversation(model_admin, term):
    """A report reference (from the reporter's e-mail) finds the rows of the conversation it names."""
    reported = ReportTicket.objects.filter(reference__iexact=term, conversation__isnull=False).values("conversation_id")
    return Q(**{f"{model_admin.conversation_lookup}__in": reported})


def extend_admins() -> None:
    """Fill chatplatform.admin.extensions (ModerationConfig.ready): who sees which brands, the block,
    suspend and reinstate actions, the moderation history and flag badges, the search by report reference."""
    extensions.scope_brands_with(scoping)
    extensions.add_actions(Conversation, _block_action(lambda conversation: (conversation.visitor, conversation, None, None)))
    extensions.add_actions(Visitor, _block_action(lambda visitor: (visitor, None, None, None)))
    extensions.add_actions(ExpertProfile, suspend, reinstate)
    extensions.replace_inline(BaseMessageInline, MessageInline)
    extensions.add_inlines(Conversation, ModerationEventInline)
    for model in (Conversation, CannedReply, ConversationTransfer):
        extensions.add_css(model, *ModerationMedia.css["all"])
    for model in (Conversation, Visitor, Block, Alert, ModerationEvent):
        extensions.add_search(model, _reported_conversation)
