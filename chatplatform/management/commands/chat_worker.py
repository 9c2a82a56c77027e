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
        if once:
            worker.run_once()
            return
        worker.run_forever(worker.ChatWorker())
