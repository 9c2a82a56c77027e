"""Reads the ORM builds once and runs again with new values: the handshake's hot reads.

Django builds a query's SQL anew every time a QuerySet runs: ``filter()``
resolves each lookup, and the compiler walks the joins, the select list and
the ordering. For the reads every reconnecting socket makes, that building
was a quarter of a reconnect storm's CPU (docs/performance.md, "The storm,
third pass"). A ``Statement`` has the ORM build its query once per database
connection, with a ``Param`` wherever a value goes, and then runs that SQL
with each call's values through Django's own result handling: the database
converters, model instances, ``select_related``, ``values_list``.

    _open_conversation = Statement(lambda: Conversation.objects
        .filter(visitor_id=Param("visitor", Visitor._meta.pk), status__in=OPEN)
        .select_related("expert").order_by("-created_at")[:1])

    conversation = _open_conversation.first(visitor=visitor.pk)

What a statement cannot hold: anything that changes between calls other than
its params (``timezone.now()`` must be a ``Param``, and a different shape of
filter is a different statement), ``prefetch_related``, and updates or
deletes. The SQL is built for the vendor of the connection that runs it, so
the same statement serves SQLite and PostgreSQL.
"""

import threading
from collections.abc import Callable

from django.db import connections
from django.db.models import Expression, QuerySet


class Param(Expression):
    """Where a statement's value goes; ``field`` converts the value for the database (a model field)."""

    def __init__(self, name: str, field):
        super().__init__(output_field=field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [self]

    def __repr__(self):
        return f"Param({self.name!r})"


class _Compiled:
    """One statement built for one connection (connections belong to one thread)."""

    def __init__(self, queryset: QuerySet, connection):
        if queryset._prefetch_related_lookups:
            raise ValueError("a Statement cannot prefetch: read the related rows in a statement of their own")
        self.connection = connection
        self.queryset = queryset
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()  # also fills the compiler's select list, which the results need
        self.sql = sql
        self.template = list(params)
        self.slots = [(i, p.name, p.output_field) for i, p in enumerate(params) if isinstance(p, Param)]
        self.params: tuple = ()
        # The compiler answers every later run with the SQL built here and the run's values.
        compiler.as_sql = self._as_sql
        queryset.query.get_compiler = lambda *args, **kwargs: compiler

    def _as_sql(self, *args, **kwargs):
        return self.sql, self.params

    def run(self, values: dict) -> list:
        params = self.template.copy()
        for i, name, field in self.slots:
            params[i] = field.get_db_prep_value(values[name], self.connection, prepared=False)
        self.params = tuple(params)
        try:
            return list(self.queryset._iterable_class(self.queryset))
        finally:
            self.params = ()


class Statement:
    """A read built by the ORM once per connection, run with new values (module docstring)."""

    def __init__(self, build: Callable[[], QuerySet], using: str = "default"):
        self.build = build
        self.using = using
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        connection = connections[self.using]
        compiled = getattr(self._local, "compiled", None)
        if compiled is None or compiled.connection is not connection:
            compiled = self._local.compiled = _Compiled(self.build().using(self.using), connection)
        return compiled

    def all(self, **values) -> list:
        """Every row (model instances, or what ``values_list`` gives)."""
        return self._compiled().run(values)

    def first(self, **values):
        """The first row, or None (the statement's query says the order and the ``[:1]``)."""
        rows = self.all(**values)
        return rows[0] if rows else None
