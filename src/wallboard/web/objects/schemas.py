"""Bodies of the object search."""

from __future__ import annotations

from wallboard.stats.definitions import ObjectType
from wallboard.web.schemas import ApiModel


class KnownObject(ApiModel):
    """An object a widget can show. ``name`` is its id until a configuration service gives
    objects display names; ``configured``: the object configuration names it; ``hasValues``:
    the value store holds values of it now."""

    type: ObjectType
    id: str
    name: str
    configured: bool
    has_values: bool
