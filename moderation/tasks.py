"""Moderation's background work (run by `manage.py chat_worker`, chatplatform/worker.py).

Tasks take ids and read the rows when they run: the queue keeps no text of
anyone's (a report's description stays where the retention purge reaches it).
"""

from django.conf import settings
from django.contrib.auth import get_user_model

from chatplatform.worker import send_mail_once, task

from .models import Alert, ReportTicket
from .permissions import COMMUNITY_MANAGERS
from .privacy import purge_personal_data


def _manager_emails() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return list(users.filter(groups__name=COMMUNITY_MANAGERS).values_list("email", flat=True).distinct())


def email_managers(*, key: str, subject: str, body: str) -> bool:
    """Tell the community managers, once per ``key``; return whether it was sent now.

    The recipients are read when the worker runs: a manager added meanwhile hears of it too.
    """
    recipients = _manager_emails()
    if not recipients:
        return False
    return send_mail_once(key=key, subject=subject, body=body, recipients=recipients)


@task()
def email_alert(*, alert_id: int) -> bool:
    alert = Alert.objects.select_related("brand", "raised_by").filter(pk=alert_id).first()
    if alert is None:
        return False
    who = alert.raised_by.display_name if alert.raised_by_id else "The system"
    return email_managers(
        key=f"moderation.alert:{alert.pk}",
        subject=f"[{alert.brand.name}] {alert.get_kind_display()}",
        body=f"{who} raised an alert for {alert.brand.name}.\n\nNote: {alert.note}\n\n"
        f"Conversation: {alert.conversation_id or '-'}\nReview it in the admin under Moderation > Alerts.",
    )


@task()
def email_report(*, report_id: int) -> bool:
    report = ReportTicket.objects.select_related("brand").filter(pk=report_id).first()
    if report is None:
        return False
    return email_managers(
        key=f"moderation.report:{report.pk}",
        subject=f"[{report.brand.name}] New report {report.reference} ({report.category})",
        body=f"A {report.filed_by} filed report {report.reference} ({report.category}).\n\n{report.description}\n\n"
        "Review it in the admin under Moderation > Report tickets.",
    )


def purge_expired_personal_data() -> dict:
    """The retention purge as a sweep: what `purge_personal_data --days RETENTION_DAYS` does."""
    return purge_personal_data(days=settings.RETENTION_DAYS)
