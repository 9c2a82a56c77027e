"""``manage.py make_catalogues -l fr`` (or ``--all``): Django's makemessages for both catalogues, with our ignores.

Extracts every marked string of the templates and Python (domain ``django``) and of static/*.js
(domain ``djangojs``) into locale/<lang>/LC_MESSAGES/*.po, merging with what is translated already.
Needs GNU gettext's xgettext/msgmerge (a translator's tool; running the product does not: `make install`
compiles with polib, `manage.py build_catalogues`). docs/operations.md, "Adding a language".
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand

# Not product text: the tests, the benchmark, the docs, built or local files.
IGNORE = ["tests/*", "bench/*", "docs/*", "staticfiles/*", "var/*", "locale/*", "*.egg-info/*"]


class Command(BaseCommand):
    help = "Extract the translatable strings into locale/<lang>/LC_MESSAGES/django.po and djangojs.po."

    def add_arguments(self, parser):
        parser.add_argument("-l", "--locale", action="append", default=[], help="A language to create or update.")
        parser.add_argument("--all", action="store_true", help="Update every language under locale/.")

    def handle(self, *args, locale, all, **options):
        common = {"locale": locale, "all": all, "ignore_patterns": IGNORE, "verbosity": options["verbosity"],
                  "no_obsolete": True}
        call_command("makemessages", domain="django", extensions=["html", "txt", "py"], **common)
        # The scripts served as files (static/): the widget's, the dashboard's, the console's.
        call_command("makemessages", domain="djangojs", extensions=["js"], **common)
