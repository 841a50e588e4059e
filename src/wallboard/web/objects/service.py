"""Object search for the widget wizard.

The known objects of a tenant are the union of two sources, since neither alone is complete:
the **object configuration** (``WALLBOARD_COLLECTOR_OBJECTS``: groups and their members, which
exist before any event names them) and the **value store's snapshot** (every object the
collector has written a value of: the agents and queues events named). A queue configured
nowhere still appears once a call entered it; a group nobody is logged into still appears
because it is configured. The collector's ``source`` objects (staleness markers) are not
objects a widget shows and are left out. Then the policy narrows the list to what the subject
may see.
"""

from __future__ import annotations

from wallboard.core.ids import TenantId
from wallboard.stats.definitions import ObjectType
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.web.errors import FieldError
from wallboard.web.objects.config import configured_objects
from wallboard.web.objects.schemas import KnownObject
from wallboard.web.pagination import ListParams
from wallboard.web.policy import AccessPolicy, Subject
from wallboard.web.schemas import Page, Pagination

_TYPES = frozenset(t.value for t in ObjectType)
SORTINGS = ("name", "type")


async def search_objects(
    *,
    tenant: TenantId,
    store: ValueStore | None,
    config: ObjectConfig | None,
    policy: AccessPolicy,
    subject: Subject,
    text: str,
    types: frozenset[str] | None,
    params: ListParams,
) -> Page[KnownObject]:
    """One page of the tenant's known objects whose id contains ``text`` (ignoring case), of
    ``types`` (all when None), sorted by name (then type) or type (then name)."""
    name = params.sorting.removeprefix("-")
    if name not in SORTINGS:
        raise FieldError(
            ("query", "sorting"), f"cannot sort by {name!r}; use one of {', '.join(SORTINGS)}"
        )
    configured = set(configured_objects(config))
    with_values: set[tuple[str, str]] = set()
    if store is not None:
        snapshot = await store.snapshot(tenant)
        for object_type, by_id in snapshot.values.items():
            with_values.update((object_type, object_id) for object_id in by_id)
    needle = text.casefold()
    found = [
        key
        for key in configured | with_values
        if key[0] in _TYPES and (types is None or key[0] in types) and needle in key[1].casefold()
    ]
    if name == "name":
        found.sort(key=lambda key: (key[1].casefold(), key[1], key[0]))
    else:
        found.sort(key=lambda key: (key[0], key[1].casefold(), key[1]))
    if params.sorting.startswith("-"):
        found.reverse()
    visible = policy.readable_objects(subject, tenant, found)
    total = len(visible)
    start = (params.page - 1) * params.limit
    items = [
        KnownObject(
            type=ObjectType(object_type),
            id=object_id,
            name=object_id,
            configured=(object_type, object_id) in configured,
            has_values=(object_type, object_id) in with_values,
        )
        for object_type, object_id in visible[start : start + params.limit]
    ]
    return Page[KnownObject](
        items=items,
        pagination=Pagination(total_count=total, max_page=max(1, -(-total // params.limit))),
    )
