"""``manage.py build_catalogues``: compile every locale/<lang>/LC_MESSAGES/*.po into its .mo.

What Django's ``compilemessages`` does, with polib (pinned in pyproject.toml) instead of GNU
gettext's msgfmt, so that `make install` builds the catalogues on a machine without gettext.
The .mo files are git-ignored: the .po files are the source. Fuzzy and untranslated entries are
left out of the .mo (as msgfmt does), so they show in English, and the catalogue test
(tests/chatplatform/test_catalogues.py) fails on them.
"""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile the translation catalogues (locale/*/LC_MESSAGES/*.po) into .mo files."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Compile even catalogues whose .mo is newer.")

    def handle(self, *args, force=False, **options):
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                try:
                    catalogue = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{po_path.relative_to(settings.BASE_DIR)}: {exc}") from None
                partial = mo_path.with_suffix(".mo.tmp")
                catalogue.save_as_mofile(str(partial))
                partial.replace(mo_path)  # a server reading the catalogue never sees half a file
                compiled += 1
                if options["verbosity"] > 1:
                    self.stdout.write(f"{mo_path.relative_to(settings.BASE_DIR)}: {len(catalogue.translated_entries())} messages")
        if options["verbosity"] > 0:
            self.stdout.write(f"{compiled} catalogue(s) compiled.")
