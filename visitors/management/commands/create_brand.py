from django.core.management.base import BaseCommand, CommandError

from chatplatform.commands import clean_field, refuse_nul
from visitors.models import Brand


class Command(BaseCommand):
    help = "Create (or update) a brand whose pages may embed the widget."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--origin", action="extend", nargs="+", default=[],
            help="Allowed origins, e.g. --origin https://shop.example https://www.shop.example (repeatable).",
        )
        parser.add_argument("--welcome", default=None, help="The widget's welcome text.")

    def handle(self, *args, slug, name, origin, welcome, **options):
        from chatplatform.origins import normalise_origin

        slug = clean_field(Brand, "slug", slug, label="slug")
        name = clean_field(Brand, "name", name)
        if welcome:
            welcome = clean_field(Brand, "welcome_message", welcome, label="--welcome")
        refuse_nul("--origin", origin)
        bad = [o for o in origin if normalise_origin(o) is None]
        if bad:
            raise CommandError(f"Not an origin (scheme://host[:port]): {', '.join(bad)}")
        defaults = {"name": name, "allowed_origins": "\n".join(origin)}
        if welcome:
            defaults["welcome_message"] = welcome
        brand, created = Brand.objects.update_or_create(slug=slug, defaults=defaults)
        self.stdout.write(f"{'Created' if created else 'Updated'} brand {brand.slug!r} ({brand.name}).")
