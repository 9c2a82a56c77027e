"""The experts, topics and community posts in the admin, limited to a manager's brands.

Registered here once; moderation adds suspend / reinstate through
chatplatform.admin.extensions (ModerationConfig.ready), not by re-registering.
"""

from django.contrib import admin

from chatplatform.admin import extensions
from visitors.admin import BrandScopedAdmin

from . import services
from .models import CommunityPost, CommunityReply, ExpertProfile, Topic


@admin.register(Topic)
class TopicAdmin(BrandScopedAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "brand"]
    list_filter = ["brand"]


@admin.register(ExpertProfile)
class ExpertProfileAdmin(BrandScopedAdmin, admin.ModelAdmin):
    list_display = ["display_name", "user", "capacity", "presence", "is_suspended"]
    list_filter = ["is_suspended", "presence", "brands"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["brands", "topics"]
    # Suspension goes through the audited actions (moderation), never a plain checkbox.
    readonly_fields = ["is_suspended"]
    brand_field = "brands"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Topic:
            kwargs["queryset"] = extensions.limit(Topic.objects.select_related("brand"), request.user, "brand")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

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
class CommunityPostAdmin(BrandScopedAdmin, admin.ModelAdmin):
    """The experts' panel is per brand: a brand-scoped manager sees the posts of their brands' spaces only
    (the cross-brand space's, brand null, only managers of every brand)."""

    list_display = ["title", "space", "author", "created_at", "last_activity_at"]
    list_filter = ["brand"]
    list_select_related = ["brand", "author"]
    search_fields = ["title", "body"]
    raw_id_fields = ["source_conversation"]
    inlines = [CommunityReplyInline]

    @admin.display(description="space", ordering="brand__name")
    def space(self, obj):
        return obj.brand.name if obj.brand_id else "All brands (cross-brand)"
