from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chatplatform.commands import clean_field, clean_password, refuse_nul
from experts.models import ExpertProfile, Topic
from visitors.models import Brand


class Command(BaseCommand):
    help = "Create (or update) an expert who answers a brand's visitors."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--brand", required=True, action="append", help="Brand slug (repeatable).")
        parser.add_argument("--topics", default="", help="Comma-separated topic slugs of the brand(s).")
        parser.add_argument("--display-name", default=None)
        parser.add_argument("--capacity", type=int, default=3)
        parser.add_argument("--bio", default="")

    @transaction.atomic
    def handle(self, *args, username, password, brand, topics, display_name, capacity, bio, **options):
        User = get_user_model()
        username = clean_field(User, "username", username, label="username")
        refuse_nul("--brand", brand)
        refuse_nul("--topics", topics)
        display_name = clean_field(ExpertProfile, "display_name", display_name or username)
        capacity = clean_field(ExpertProfile, "capacity", capacity)
        bio = clean_field(ExpertProfile, "bio", bio)
        clean_password(password, User.objects.filter(username=username).first() or User(username=username))
        brands = list(Brand.objects.filter(slug__in=brand))
        missing = set(brand) - {b.slug for b in brands}
        if missing:
            raise CommandError(f"Unknown brand(s): {', '.join(sorted(missing))}")
        if capacity < 1:
            raise CommandError("--capacity must be at least 1.")
        topic_slugs = [t.strip() for t in topics.split(",") if t.strip()]
        topic_rows = list(Topic.objects.filter(brand__in=brands, slug__in=topic_slugs))
        unknown = set(topic_slugs) - {t.slug for t in topic_rows}
        if unknown:
            raise CommandError(f"Unknown topic(s): {', '.join(sorted(unknown))}")
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        profile, created = ExpertProfile.objects.update_or_create(
            user=user,
            defaults={"display_name": display_name, "capacity": capacity, "bio": bio},
        )
        profile.brands.set(brands)
        profile.topics.set(topic_rows)
        self.stdout.write(f"{'Created' if created else 'Updated'} expert {username!r} for {', '.join(b.slug for b in brands)}.")
