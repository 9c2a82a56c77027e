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
filter is a different statement), and ``prefetch_related``. The SQL is built
for the vendor of the connection that runs it, so the same statement serves
SQLite and PostgreSQL.

The hot writes have theirs too: ``UpdateStatement`` (a queryset's
``update()``), ``DeleteStatement`` (its ``delete()``, only where Django would
delete without collecting: nothing cascades, no signal listens) and
``InsertStatement`` (one row, no ``save()`` signals, nothing read back). Each
returns the number of rows it wrote.
"""

import threading
from collections.abc import Callable

from django.db import connections
from django.db.models import Expression, QuerySet
from django.db.models.deletion import Collector
from django.db.models.sql import DeleteQuery, InsertQuery, UpdateQuery


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


class _Write:
    """A write built once per connection (``_sql``), run with each call's values."""

    def __init__(self, using: str = "default"):
        self.using = using
        self._local = threading.local()

    def _sql(self, connection) -> tuple[str, list]:
        raise NotImplementedError

    def run(self, **values) -> int:
        connection = connections[self.using]
        compiled = getattr(self._local, "compiled", None)
        if compiled is None or compiled[0] is not connection:
            sql, params = self._sql(connection)
            slots = [(i, p.name, p.output_field) for i, p in enumerate(params) if isinstance(p, Param)]
            compiled = self._local.compiled = (connection, sql, list(params), slots)
        _, sql, template, slots = compiled
        params = template.copy()
        for i, name, field in slots:
            params[i] = field.get_db_prep_save(values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


class UpdateStatement(_Write):
    """``build().update(**assignments)``, built once: ``assignments`` are Params or constants."""

    def __init__(self, build: Callable[[], QuerySet], using: str = "default", **assignments):
        super().__init__(using)
        self.build, self.assignments = build, assignments

    def _sql(self, connection):
        query = self.build().query.chain(UpdateQuery)
        query.add_update_values(self.assignments)
        query.annotations = {}
        return query.get_compiler(connection=connection).as_sql()


class DeleteStatement(_Write):
    """``build().delete()``, built once, where Django would delete without collecting anything."""

    def __init__(self, build: Callable[[], QuerySet], using: str = "default"):
        super().__init__(using)
        self.build = build

    def _sql(self, connection):
        queryset = self.build()
        if not Collector(using=self.using, origin=queryset).can_fast_delete(queryset):
            raise ValueError("a DeleteStatement cannot cascade or send signals: use QuerySet.delete()")
        query = queryset.query.chain(DeleteQuery)
        return query.get_compiler(connection=connection).as_sql()


class InsertStatement(_Write):
    """One row of ``model``, each value given by name (the field's attname, e.g. ``expert_id``).

    Every column is named, but an automatic primary key: no default, ``auto_now_add`` or
    ``save()`` fills anything in, so a column left out is refused when the statement is made.
    """

    def __init__(self, model, fields: list[str], using: str = "default"):
        super().__init__(using)
        named = {model._meta.get_field(name) for name in fields}
        missing = [f.name for f in model._meta.concrete_fields if f not in named and f is not model._meta.auto_field]
        if missing:
            raise ValueError(f"an InsertStatement names every column; missing: {', '.join(missing)}")
        self.model, self.fields = model, fields

    def _sql(self, connection):
        fields = [self.model._meta.get_field(name) for name in self.fields]
        row = self.model(**{field.attname: Param(field.attname, field.target_field if field.is_relation else field) for field in fields})
        query = InsertQuery(self.model)
        query.insert_values(fields, [row], raw=True)  # raw: the values as given, no pre_save (auto_now_add would freeze a time)
        [(sql, params)] = query.get_compiler(connection=connection).as_sql()
        return sql, params
