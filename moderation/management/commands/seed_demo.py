import io

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from experts import canned
from experts.models import Topic
from visitors.models import Brand

DEMO_PASSWORD = "demo-pass-123"
DEMO_TOPICS = [("running-shoes", "Running shoes"), ("sizing", "Sizing and fit"), ("care", "Care and repair")]


class Command(BaseCommand):
    help = "Create the demo brand, two experts and a community manager (idempotent) and print their sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--origin", action="append", default=[], help="Extra origin allowed to embed the demo widget.")

    @transaction.atomic
    def handle(self, *args, origin, **options):
        from chatplatform.origins import normalise_origin

        bad = [o for o in origin if "\x00" in o or normalise_origin(o) is None]
        if bad:
            raise CommandError(f"--origin: not an origin (scheme://host[:port]): {', '.join(map(repr, bad))}")
        origins = ["http://localhost:8000", "http://127.0.0.1:8000", *origin]
        brand, _ = Brand.objects.update_or_create(
            slug="acme",
            # English and French: a browser that prefers French gets the widget in French (docs/faces.md).
            defaults={"name": "Acme Outdoor", "allowed_origins": "\n".join(dict.fromkeys(origins)),
                      "languages": "en fr", "default_language": "en"},
        )
        canned.seed_brand_replies(brand)  # the charter's canned replies (new brands get them anyway: experts/seeding.py)
        for slug, name in DEMO_TOPICS:
            Topic.objects.update_or_create(brand=brand, slug=slug, defaults={"name": name})
        quiet = {"stdout": io.StringIO()}  # the summary below says it all
        call_command(
            "create_expert", "alice", password=DEMO_PASSWORD, brand=["acme"], topics="running-shoes,sizing",
            display_name="Alice", bio="Trail runner for 12 years; I test every shoe I talk about.", **quiet,
        )
        call_command(
            "create_expert", "bob", password=DEMO_PASSWORD, brand=["acme"], topics="care",
            display_name="Bob", bio="I repair and re-waterproof outdoor gear as a hobby.", **quiet,
        )
        call_command("create_community_manager", "carol", password=DEMO_PASSWORD, **quiet)
        self.stdout.write(
            "Demo data ready.\n"
            f"  Experts (dashboard /dashboard/): alice / {DEMO_PASSWORD}, bob / {DEMO_PASSWORD}\n"
            f"  Community manager (admin /admin/): carol / {DEMO_PASSWORD}\n"
            "  Brand: acme (widget page /widget/acme/)"
        )
        if settings.CHAT_MANAGER_MFA:
            # `make run` turns two-factor sign-in off for its server; a server started otherwise asks for it.
            self.stdout.write("  carol's first sign-in sets up two-factor sign-in (CHAT_MANAGER_MFA is on; "
                              "`make run` turns it off for the demo).")
