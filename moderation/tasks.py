"""Moderation's background work (run by `manage.py chat_worker`, chatplatform/worker.py).

Tasks take ids and read the rows when they run: the queue keeps no text of
anyone's (a report's description stays where the retention purge reaches it).
"""

from django.conf import settings
from django.utils.translation import gettext
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
    # In the installation's language (LANGUAGE_CODE): the e-mail goes to every manager at once.
    who = alert.raised_by.display_name if alert.raised_by_id else gettext("The system")
    return email_managers(
        key=f"moderation.alert:{alert.pk}",
        subject=f"[{alert.brand.name}] {alert.get_kind_display()}",
        body=gettext("%(who)s raised an alert for %(brand)s.") % {"who": who, "brand": alert.brand.name} + "\n\n"
        + gettext("Note: %(note)s") % {"note": alert.note} + "\n\n"
        + gettext("Conversation: %(id)s") % {"id": alert.conversation_id or "-"} + "\n"
        + gettext("Review it in the admin under Moderation > Alerts."),
    )


@task()
def email_report(*, report_id: int) -> bool:
    report = ReportTicket.objects.select_related("brand").filter(pk=report_id).first()
    if report is None:
        return False
    return email_managers(
        key=f"moderation.report:{report.pk}",
        subject=f"[{report.brand.name}] "
        + gettext("New report %(reference)s (%(category)s)") % {"reference": report.reference, "category": report.category},
        body=gettext("A %(who)s filed report %(reference)s (%(category)s).") % {
            "who": report.filed_by, "reference": report.reference, "category": report.category}
        + f"\n\n{report.description}\n\n" + gettext("Review it in the admin under Moderation > Report tickets."),
    )


def purge_expired_personal_data() -> dict:
    """The retention purge as a sweep: what `purge_personal_data --days RETENTION_DAYS` does."""
    return purge_personal_data(days=settings.RETENTION_DAYS)
