"""Print a new VAPID key pair for Web Push, as the settings take it (docs/operations.md)."""

from django.core.management.base import BaseCommand

from experts.push import generate_vapid_keys


class Command(BaseCommand):
    help = "Print a new VAPID key pair (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY) for the experts' Web Push."

    def handle(self, *args, **options):
        public, private = generate_vapid_keys()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}\n")
        self.stderr.write("Keep the private key secret and keep both: a new pair makes every browser subscribe again.")
