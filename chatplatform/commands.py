"""Argument checks the management commands share: each value as its model field would take it.

A command that passed a value straight to the database failed with the
database's traceback (`create_expert --capacity 100000`: smallint out of range
on PostgreSQL), or wrote what a form would have refused. Every value is checked
before anything is written, and a bad one is a CommandError naming the option
(exit code 1, nothing changed).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.backends.base.operations import BaseDatabaseOperations


def refuse_nul(label: str, value) -> None:
    """PostgreSQL cannot store (or even compare) a NUL in text."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, str) and "\x00" in v for v in values):
        raise CommandError(f"{label}: a NUL character is not allowed.")


def clean_field(model, name: str, value, *, label: str | None = None):
    """``value`` checked by ``model``'s field ``name`` (type, length, range, choices, validators)."""
    label = label or "--" + name.replace("_", "-")
    refuse_nul(label, value)
    field = model._meta.get_field(name)
    try:
        value = field.clean(value, None)
    except ValidationError as exc:
        raise CommandError(f"{label}: {' '.join(exc.messages)}") from None
    # What the field's own validators leave to the database: a TextField's max_length (forms
    # only), and an integer column's range (SQLite has none, so Django adds no validator there).
    if isinstance(value, str) and field.max_length and len(value) > field.max_length:
        raise CommandError(f"{label}: at most {field.max_length} characters (it has {len(value)}).")
    low, high = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type(), (None, None))
    if isinstance(value, int) and high is not None and not low <= value <= high:
        raise CommandError(f"{label}: must be from {low} to {high}.")
    return value


def clean_password(password: str, user) -> None:
    """The project's password rules (AUTH_PASSWORD_VALIDATORS), as the admin's password form applies them."""
    from django.contrib.auth.password_validation import validate_password

    refuse_nul("--password", password)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError(f"--password: {' '.join(exc.messages)}") from None
