"""Analytics store nothing of their own: every figure is an aggregate query over the chat's tables."""

from django.db import models


class Analytics(models.Model):
    """No row ever: the holder of the ``view_analytics`` permission (the managers' group has it).

    Unmanaged, so no table is created; Django still makes its content type and permission.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_analytics", "Can view brand and community analytics")]
