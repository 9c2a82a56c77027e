from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from chatplatform.commands import clean_field, clean_password
from moderation.permissions import ensure_community_managers_group


class Command(BaseCommand):
    help = "Create (or update) a community manager: admin access through the Community managers group, not a superuser."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(self, *args, username, password, email, **options):
        User = get_user_model()
        username = clean_field(User, "username", username, label="username")
        email = clean_field(User, "email", email)
        clean_password(password, User.objects.filter(username=username).first() or User(username=username, email=email))
        user, created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = True
        if email:
            user.email = email
        user.save()
        user.groups.add(ensure_community_managers_group())
        self.stdout.write(f"{'Created' if created else 'Updated'} community manager {username!r}.")
