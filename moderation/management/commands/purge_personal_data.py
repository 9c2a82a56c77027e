from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation.privacy import purge_personal_data

MAX_DAYS = 100 * 366


class Command(BaseCommand):
    help = ("Purge personal data (texts, nicknames, report e-mails, address hashes) of conversations ended, or left open "
            "untouched, more than --days ago (docs/security.md).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Retention period (default: the RETENTION_DAYS setting).")

    def handle(self, *args, days, **options):
        days = settings.RETENTION_DAYS if days is None else days
        if not 0 <= days <= MAX_DAYS:  # past it, "days ago" is before the calendar starts (an OverflowError)
            raise CommandError(f"--days must be from 0 to {MAX_DAYS}.")
        counts = purge_personal_data(days=days)
        self.stdout.write("Purged (older than %d days): %s" % (days, ", ".join(f"{n} {k}" for k, n in counts.items())))
