from django.conf import settings
from django.core.management.base import BaseCommand

from chatplatform import worker


class Command(BaseCommand):
    help = (
        "Run the background worker: queued tasks (e-mails) with retries, and the sweeps "
        "(inactive conversations, unanswered questions, the retention purge). --once runs what is due and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is due now, then exit (cron, tests).")

    def handle(self, *args, once, **options):
        if settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer":
            self.stderr.write(
                "chat_worker: the in-memory channel layer (no REDIS_URL): the sockets of the server do not hear "
                "this process's events (a conversation ended by a sweep shows at their next reconnect). "
                "Run the worker inside the server instead: CHAT_WORKER_IN_SERVER=1 (docs/operations.md)."
            )
        if once:
            worker.run_once()
            return
        worker.run_forever(worker.ChatWorker())
