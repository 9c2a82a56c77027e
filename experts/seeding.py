"""A new brand gets the community charter's canned replies, however it was created.

A thin edge, as revocation.py: the receiver calls one service. A signal because brands
are created below this app (the admin, ``create_brand``, ``seed_demo``, tests), and the
visitors app may not know the experts' models (tests/chatplatform/test_layering.py).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from visitors.models import Brand

from . import canned


@receiver(post_save, sender=Brand, dispatch_uid="experts.seed_canned_replies")
def seed_new_brand(sender, instance, created, raw=False, **kwargs):
    if created and not raw:  # not while loading fixtures
        canned.seed_brand_replies(instance)
