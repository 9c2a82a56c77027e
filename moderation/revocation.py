"""Hooks that make the live feeds re-check their managers' rights when those change.

A feed keeps the user it was opened with; without these, a manager removed
from the Community managers group, from staff, or deactivated kept the feed
open and could still acknowledge alerts. Each sends `user.permissions_changed`
after commit to the sockets that may be concerned; the consumer re-reads and
closes with 4403 (moderation/consumers.py). Changes that pass no signal
(a queryset ``update()``, SQL) are caught by the feed's re-check every heartbeat.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from chatplatform.events import send_event_on_commit
from chatplatform.groups import moderators_group, user_group

CHANGED = {"type": "user.permissions_changed"}
# The user fields a right depends on (moderation/selectors.py, can_moderate).
RIGHTS_FIELDS = {"is_active", "is_staff", "is_superuser"}

User = get_user_model()


def _tell_users(user_ids) -> None:
    if user_ids:
        send_event_on_commit([user_group(pk) for pk in user_ids], CHANGED)


def _tell_every_feed() -> None:
    send_event_on_commit(moderators_group(), CHANGED)


@receiver(post_save, sender=User, dispatch_uid="moderation.user_saved")
def user_saved(sender, instance, created, update_fields=None, **kwargs):
    # A sign-in saves last_login only: nothing to re-check.
    if not created and (update_fields is None or RIGHTS_FIELDS & set(update_fields)):
        _tell_users([instance.pk])


@receiver(post_delete, sender=User, dispatch_uid="moderation.user_deleted")
def user_deleted(sender, instance, **kwargs):
    _tell_users([instance.pk])


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="moderation.user_groups_changed")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="moderation.user_permissions_changed")
def user_rights_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:  # a user's groups or permissions
        _tell_users([instance.pk])
    elif pk_set is not None:  # a group's or a permission's users, named
        _tell_users(pk_set)
    else:  # all the users of a group or permission, cleared: who they were is gone
        _tell_every_feed()


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="moderation.group_permissions_changed")
def group_permissions_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        _tell_every_feed()


@receiver(post_delete, sender=Group, dispatch_uid="moderation.group_deleted")
def group_deleted(sender, **kwargs):
    _tell_every_feed()
