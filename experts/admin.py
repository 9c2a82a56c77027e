"""The experts, topics, community posts, invitations, canned replies and transfers in the admin,
limited to a manager's brands.

Registered here once; moderation adds suspend / reinstate (and its stylesheet) through
chatplatform.admin.extensions (ModerationConfig.ready), not by re-registering.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from chatplatform.admin import extensions
from chatplatform.errors import ChatError
from visitors.admin import BrandScopedAdmin

from . import canned, invitations, services
from .models import CannedReply, CommunityPost, CommunityReply, ConversationTransfer, ExpertInvitation, ExpertProfile, Topic


class ScopedAdmin(BrandScopedAdmin):
    """Brand-scoped (visitors.admin.BrandScopedAdmin), and a form's topics are the visible brands' only."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Topic:
            kwargs["queryset"] = extensions.limit(Topic.objects.select_related("brand"), request.user, "brand")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Topic)
class TopicAdmin(ScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "brand"]
    list_filter = ["brand"]


@admin.register(ExpertProfile)
class ExpertProfileAdmin(ScopedAdmin, admin.ModelAdmin):
    list_display = ["display_name", "user", "capacity", "presence", "is_suspended"]
    list_filter = ["is_suspended", "presence", "brands"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["brands", "topics"]
    # Suspension goes through the audited actions (moderation), never a plain checkbox.
    readonly_fields = ["is_suspended"]
    brand_field = "brands"

    def get_readonly_fields(self, request, obj=None):
        """Only a superuser may move a profile to another account; everyone else sees whose it is.

        A community manager may change an expert's brands, topics, texts and
        capacity, but handing a profile (its ratings, its conversations) to
        another sign-in would let them impersonate an expert.
        """
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser and "user" not in fields:
            fields.append("user")
        return fields

    def save_related(self, request, form, formsets, change):
        """A brand-scoped manager edits the expert's memberships of their brands only: the others are kept as they are."""
        visible = extensions.brand_ids_for(request.user)
        if change and visible is not None and "brands" in form.cleaned_data:
            kept = [b for b in form.instance.brands.all() if b.pk not in visible]
            form.cleaned_data["brands"] = [*form.cleaned_data["brands"], *kept]
            if "topics" in form.cleaned_data:
                kept_topics = [t for t in form.instance.topics.all() if t.brand_id not in visible]
                form.cleaned_data["topics"] = [*form.cleaned_data["topics"], *kept_topics]
        before = set(form.instance.brands.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        removed = before - set(form.instance.brands.values_list("pk", flat=True))
        if removed:
            services.after_membership_removed(expert=form.instance, brand_ids=removed)


class CommunityReplyInline(admin.TabularInline):
    model = CommunityReply
    extra = 0


@admin.register(CommunityPost)
class CommunityPostAdmin(ScopedAdmin, admin.ModelAdmin):
    """The experts' panel is per brand: a brand-scoped manager sees the posts of their brands' spaces only
    (the cross-brand space's, brand null, only managers of every brand)."""

    list_display = ["title", "space", "author", "created_at", "last_activity_at"]
    list_filter = ["brand"]
    list_select_related = ["brand", "author"]
    search_fields = ["title", "body"]
    raw_id_fields = ["source_conversation"]
    inlines = [CommunityReplyInline]

    @admin.display(description=_("space"), ordering="brand__name")
    def space(self, obj):
        return obj.brand.name if obj.brand_id else "All brands (cross-brand)"


class InvitationForm(forms.ModelForm):
    class Meta:
        model = ExpertInvitation
        fields = ["email", "brand", "topics"]
        help_texts = {"topics": _("Offered on the sign-up page; the invitee may change them. Only the brand's own count.")}

    def clean(self):
        data = super().clean()
        brand, topics = data.get("brand"), data.get("topics")
        if brand is not None and topics and any(topic.brand_id != brand.pk for topic in topics):
            self.add_error("topics", _("Choose topics of the invitation's brand only."))
        return data


@admin.register(ExpertInvitation)
class ExpertInvitationAdmin(ScopedAdmin, admin.ModelAdmin):
    """Invite an expert by e-mail; the list shows who has not answered yet (pending first), and resends or revokes.
    A brand-scoped manager invites to, and sees the invitations of, their brands only."""

    form = InvitationForm
    list_display = ["email", "brand", "state", "sent_at", "expires_at", "invited_by"]
    list_filter = ["status", "brand"]
    search_fields = ["email"]
    actions = ["resend", "revoke"]
    filter_horizontal = ["topics"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("brand", "invited_by")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "brand", "topics"]
        return ["email", "brand", "topics", "state", "invited_by", "created_at", "sent_at", "expires_at",
                "accepted_at", "accepted_user", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        # A sent invitation is a record: resend or revoke it, invite again for anything else.
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(description=_("State"), ordering="status")
    def state(self, invitation):
        if invitation.status == ExpertInvitation.Status.PENDING and invitation.expires_at <= timezone.now():
            return format_html('<span class="invitation-expired">{}</span>', _("expired"))
        return invitation.get_status_display()

    def save_model(self, request, obj, form, change):
        if change:  # every field is read-only once sent
            return
        made = invitations.invite_expert(email=form.cleaned_data["email"], brand=form.cleaned_data["brand"],
                                         topics=form.cleaned_data["topics"], invited_by=request.user)
        obj.pk = made.pk

    def save_related(self, request, form, formsets, change):
        pass  # invite_expert set the topics

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Invitation to %(email)s queued: the e-mail leaves within a minute.")
                          % {"email": obj.email})
        return self.response_post_save_add(request, obj)

    @admin.action(description=_("Send the selected invitations again (new link, new expiry)"), permissions=["change"])
    def resend(self, request, queryset):
        sent = sum(invitations.resend_invitation(invitation_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d invitation sent again.", "%(count)d invitations sent again.", sent)
                          % {"count": sent}, messages.SUCCESS if sent else messages.WARNING)

    @admin.action(description=_("Revoke the selected invitations (their links stop working)"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(invitations.revoke_invitation(invitation_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d invitation revoked.", "%(count)d invitations revoked.", revoked)
                          % {"count": revoked}, messages.SUCCESS if revoked else messages.WARNING)


# --- the experts' tools: each brand's canned replies, and the transfers' trail ---------------------
# A brand-scoped manager sees, adds and edits only their brands' replies. The experts' own
# replies are theirs (edited in the dashboard) and are not listed here.


class BrandCannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["brand", "title", "text", "position"]
        help_texts = {
            "text": "{visitor} and {expert} are replaced by the visitor's and the expert's names when an expert inserts it.",
            "position": "The experts' picker lists the brand's replies in this order.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].required = True  # a reply of the admin is a brand's, never an expert's

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            canned.check_placeholders(text)
        except ChatError as exc:
            raise forms.ValidationError(exc.detail) from None
        return text


@admin.register(CannedReply)
class CannedReplyAdmin(ScopedAdmin, admin.ModelAdmin):
    """A brand's canned replies (seeded from the community charter when the brand is created)."""

    form = BrandCannedReplyForm
    list_display = ["title", "brand", "position", "updated_at"]
    list_filter = ["brand"]
    search_fields = ["title", "text"]
    ordering = ["brand__name", "position", "pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(expert__isnull=True).select_related("brand")


@admin.register(ConversationTransfer)
class ConversationTransferAdmin(ScopedAdmin, admin.ModelAdmin):
    """Who handed which conversation to whom (conversation.transfer), with the note: read-only."""

    brand_field = "conversation__brand"
    list_display = ["created_at", "conversation", "from_expert", "to_expert"]
    readonly_fields = ["created_at", "conversation", "from_expert", "to_expert", "note"]
    fields = readonly_fields
    search_fields = ["conversation__id", "from_expert__display_name", "to_expert__display_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("conversation", "from_expert", "to_expert")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
