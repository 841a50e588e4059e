"""Hypothesis strategies for every wire message, derived from the structs' own type info.

Deriving them from ``msgspec.inspect`` means a new event type or field is covered the day it
is added, with its constraints (lengths, bounds, enums) respected.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from wallboard.core.events import EVENT_TYPES
from wallboard.core.protocol import CONTROL_TYPES

INT64 = 2**63 - 1
MESSAGE_TYPES: tuple[type[msgspec.Struct], ...] = (*EVENT_TYPES, *CONTROL_TYPES)

# Any text hypothesis makes: every plane, escapes, control characters (no lone surrogates,
# which are not valid in UTF-8 JSON).
_text = st.text(st.characters(codec="utf-8"), max_size=40)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-INT64, INT64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


def for_type(info: msgspec.inspect.Type) -> st.SearchStrategy[Any]:
    """A strategy for values that satisfy ``info``, constraints included."""
    if isinstance(info, msgspec.inspect.IntType):
        low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else -INT64)
        high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else INT64)
        return st.integers(low, high)
    if isinstance(info, msgspec.inspect.StrType):
        high = min(info.max_length if info.max_length is not None else 60, 300)
        return st.text(st.characters(codec="utf-8"), min_size=info.min_length or 0, max_size=high)
    if isinstance(info, msgspec.inspect.BoolType):
        return st.booleans()
    if isinstance(info, msgspec.inspect.NoneType):
        return st.none()
    if isinstance(info, msgspec.inspect.EnumType):
        return st.sampled_from(list(info.cls))
    if isinstance(info, msgspec.inspect.UnionType):
        return st.one_of([for_type(member) for member in info.types])
    if isinstance(info, msgspec.inspect.VarTupleType):
        high = min(info.max_length if info.max_length is not None else 5, 5)
        return st.lists(for_type(info.item_type), max_size=high).map(tuple)
    if isinstance(info, msgspec.inspect.DictType):
        high = min(info.max_length if info.max_length is not None else 8, 8)
        return st.dictionaries(for_type(info.key_type), for_type(info.value_type), max_size=high)
    if isinstance(info, msgspec.inspect.AnyType):
        return json_values
    if isinstance(info, msgspec.inspect.StructType):
        return for_struct(info.cls)
    raise NotImplementedError(f"no strategy for {info!r}: extend message_strategies.for_type")


def struct_fields(cls: type[msgspec.Struct]) -> tuple[msgspec.inspect.Field, ...]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return info.fields


def for_struct(cls: type[msgspec.Struct]) -> st.SearchStrategy[Any]:
    """Instances of ``cls``: every required field, each optional one present or not."""
    required = {f.name: for_type(f.type) for f in struct_fields(cls) if f.required}
    optional = {f.name: for_type(f.type) for f in struct_fields(cls) if not f.required}
    return st.fixed_dictionaries(required, optional=optional).map(lambda kwargs: cls(**kwargs))


any_message: st.SearchStrategy[Any] = st.one_of([for_struct(cls) for cls in MESSAGE_TYPES])
