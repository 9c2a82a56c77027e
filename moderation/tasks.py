"""Moderation's background work (run by `manage.py chat_worker`, chatplatform/worker.py)."""

from django.conf import settings
from django.contrib.auth import get_user_model

from chatplatform.worker import send_mail_once, task

from .permissions import COMMUNITY_MANAGERS
from .privacy import purge_personal_data


def _manager_emails() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return list(users.filter(groups__name=COMMUNITY_MANAGERS).values_list("email", flat=True).distinct())


@task()
def email_managers(*, key: str, subject: str, body: str) -> bool:
    """Tell the community managers of an alert or a report, once per ``key``; return whether it was sent.

    The recipients are read when the worker runs: a manager added meanwhile hears of it too.
    """
    recipients = _manager_emails()
    if not recipients:
        return False
    return send_mail_once(key=key, subject=subject, body=body, recipients=recipients)


def purge_expired_personal_data() -> dict:
    """The retention purge as a sweep: what `purge_personal_data --days RETENTION_DAYS` does."""
    return purge_personal_data(days=settings.RETENTION_DAYS)
