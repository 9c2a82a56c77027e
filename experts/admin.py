from django.contrib import admin

from . import services
from .models import CommunityPost, CommunityReply, ExpertProfile, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "brand"]
    list_filter = ["brand"]


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "capacity", "presence", "is_suspended"]
    list_filter = ["is_suspended", "presence", "brands"]
    search_fields = ["display_name", "user__username"]
    filter_horizontal = ["brands", "topics"]

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
        before = set(form.instance.brands.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        removed = before - set(form.instance.brands.values_list("pk", flat=True))
        if removed:
            services.after_membership_removed(expert=form.instance, brand_ids=removed)


class CommunityReplyInline(admin.TabularInline):
    model = CommunityReply
    extra = 0


@admin.register(CommunityPost)
class CommunityPostAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "author", "created_at", "last_activity_at"]
    list_filter = ["brand"]
    list_select_related = ["brand", "author"]
    search_fields = ["title", "body"]
    raw_id_fields = ["source_conversation"]
    inlines = [CommunityReplyInline]

    @admin.display(description="space", ordering="brand__name")
    def space(self, obj):
        return obj.brand.name if obj.brand_id else "All brands (cross-brand)"
