"""Inviting experts by e-mail: the invitation, its signed expiring link, and the account it makes.

A manager invites from the admin (``invite_expert``); the worker e-mails the link
(experts/tasks.py ``email_invitation``); the invitee opens it, chooses a username,
a password and a profile (``accept_invitation``). The link's token is signed with
SECRET_KEY (``django.core.signing``) and names the invitation and its nonce:
changed by one character it is ``tampered``; past ``expires_at`` ``expired``;
after an acceptance ``used``; after a revocation or a resend (a new nonce) ``revoked``.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string
from django.utils.translation import gettext as _

from chatplatform.worker import enqueue

from .models import ExpertInvitation, ExpertProfile, Topic

SALT = "experts.invitation"


class InvitationError(Exception):
    """A link that opens no sign-up page; ``code`` says why (tampered, expired, used, revoked)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def token_for(invitation: ExpertInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT, compress=False)


def link_for(invitation: ExpertInvitation) -> str:
    return settings.CHAT_PUBLIC_URL + reverse("expert-join", kwargs={"token": token_for(invitation)})


def _new_link_fields() -> dict:
    now = timezone.now()
    return {"nonce": get_random_string(32), "sent_at": now,
            "expires_at": now + timedelta(days=settings.CHAT_INVITATION_DAYS)}


def _queue_mail(invitation: ExpertInvitation) -> None:
    from .tasks import email_invitation

    enqueue(email_invitation, invitation_id=invitation.pk, nonce=invitation.nonce)


@transaction.atomic
def invite_expert(*, email: str, brand, topics, invited_by) -> ExpertInvitation:
    """Record an invitation and queue its e-mail (sent by the worker once this commits)."""
    invitation = ExpertInvitation.objects.create(email=email.strip(), brand=brand, invited_by=invited_by,
                                                 **_new_link_fields())
    invitation.topics.set([topic for topic in topics if topic.brand_id == brand.pk])
    _queue_mail(invitation)
    return invitation


@transaction.atomic
def resend_invitation(*, invitation_id: int) -> bool:
    """Send a pending invitation again with a new link (the old one stops working) and a new expiry; False if not pending."""
    invitation = ExpertInvitation.objects.select_for_update().filter(
        pk=invitation_id, status=ExpertInvitation.Status.PENDING).first()
    if invitation is None:
        return False
    for field, value in _new_link_fields().items():
        setattr(invitation, field, value)
    invitation.save(update_fields=["nonce", "sent_at", "expires_at"])
    _queue_mail(invitation)
    return True


def revoke_invitation(*, invitation_id: int) -> bool:
    """Void a pending invitation's link; False if it was not pending."""
    return bool(ExpertInvitation.objects.filter(pk=invitation_id, status=ExpertInvitation.Status.PENDING).update(
        status=ExpertInvitation.Status.REVOKED, revoked_at=timezone.now()))


def _check(invitation: ExpertInvitation | None, nonce) -> ExpertInvitation:
    if invitation is None:
        raise InvitationError("tampered")
    if invitation.status == ExpertInvitation.Status.ACCEPTED:
        raise InvitationError("used")
    if invitation.status == ExpertInvitation.Status.REVOKED or not constant_time_compare(str(nonce), invitation.nonce):
        raise InvitationError("revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationError("expired")
    return invitation


def _unsigned(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=SALT)
        return int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvitationError("tampered") from None


def open_invitation(*, token: str) -> ExpertInvitation:
    """The pending invitation this link names, or InvitationError with why not."""
    pk, nonce = _unsigned(token)
    return _check(ExpertInvitation.objects.select_related("brand").filter(pk=pk).first(), nonce)


def accept_invitation(*, token: str, username: str, password: str, display_name: str, topic_ids) -> ExpertProfile:
    """Make the invitee's account and expert profile, once; InvitationError or ValidationError (nothing made) else.

    The invitation row is locked: two submissions of one link make one account.
    """
    pk, nonce = _unsigned(token)
    User = get_user_model()
    with transaction.atomic():
        invitation = _check(ExpertInvitation.objects.select_for_update().filter(pk=pk).first(), nonce)
        if User._default_manager.filter(username__iexact=username).exists():
            raise ValidationError({"username": _("That username is taken: choose another.")})
        user = User(username=username, email=invitation.email)
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password1": exc.messages}) from None
        user.set_password(password)
        user.save()
        expert = ExpertProfile.objects.create(user=user, display_name=display_name)
        expert.brands.set([invitation.brand_id])
        expert.topics.set(Topic.objects.filter(brand_id=invitation.brand_id, pk__in=list(topic_ids)))
        invitation.status = ExpertInvitation.Status.ACCEPTED
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["status", "accepted_at", "accepted_user"])
    return expert
