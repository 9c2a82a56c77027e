"""Which brands a community manager may see: every one, or those of their ManagerScope.

Every admin list, change page, search and action of the managers' admin, the
overview and the live feed go through ``brand_ids_for``; a row of another brand
is then "not found", never "forbidden", so its existence does not leak.
"""

from .models import ManagerScope

_CACHE = "_moderation_brand_ids"


def brand_ids_for(user, *, fresh: bool = False) -> frozenset | None:
    """The ids of the brands ``user`` may see; None for all of them (superusers, managers without a scope).

    Cached on the user object for the request; ``fresh`` re-reads it (a long-lived socket
    must notice a scope narrowed while it is open).
    """
    if not fresh and hasattr(user, _CACHE):
        return getattr(user, _CACHE)
    if getattr(user, "is_superuser", False) or not getattr(user, "is_authenticated", False):
        ids = None
    else:
        scope = ManagerScope.objects.filter(user=user).first()
        ids = None if scope is None else frozenset(scope.brands.values_list("pk", flat=True))
    setattr(user, _CACHE, ids)
    return ids


def limit(queryset, user, field: str = "brand"):
    """``queryset`` limited to the rows of the brands ``user`` may see (``field`` leads to the brand)."""
    ids = brand_ids_for(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def may_see_brand(user, brand_id) -> bool:
    ids = brand_ids_for(user)
    return ids is None or brand_id in ids
