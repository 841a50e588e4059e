"""Each user's visible objects, computed from a tenant's access groups and folders — pure code.

The model (docs/permissions.md): an access group lists ``members`` (user names) and grants them
``folders`` (everything filed in those folders and in their sub-folders, recursively),
``objects`` (single ``{type, name}`` pairs) or ``all_objects`` (every object of the tenant). A
user's visible set is the union of the grants of the access groups listing them; a user no
access group lists sees nothing. Seeing a group does not make its members visible: grants are
by object, never by membership.

Malformed attributes (the config service validates them, but rows may be written by other
means) are read conservatively: the part that cannot be read grants nothing, and is reported so
that the caller can log and count it. Fail closed, never open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

ObjectKey = tuple[str, str]
"""(object type, object name): what a widget, a value and the live channel name."""

Visible = frozenset[ObjectKey] | None
"""A user's visible objects; None: every object of the tenant."""

ACCESS_GROUP = "access_group"
FOLDER = "folder"


@dataclasses.dataclass(frozen=True)
class ConfigRow:
    """The part of a ``config_objects`` row the permissions read."""

    type: str
    name: str
    folder: str | None = None
    attributes: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Grants:
    """The visible objects of every user an access group lists (users absent see nothing),
    and what could not be read."""

    users: Mapping[str, Visible]
    problems: tuple[str, ...] = ()


def _names(value: object, where: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{where}: not a list of names; it grants nothing")
        return []
    return value


def _objects(value: object, where: str, problems: list[str]) -> list[ObjectKey]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{where}: not a list of objects; it grants nothing")
        return []
    found = []
    for index, item in enumerate(value):
        if (
            isinstance(item, Mapping)
            and isinstance(item.get("type"), str)
            and isinstance(item.get("name"), str)
        ):
            found.append((item["type"], item["name"]))
        else:
            problems.append(f"{where}[{index}]: not a {{type, name}} object; it grants nothing")
    return found


def folder_tree(rows: Iterable[ConfigRow]) -> dict[str, list[str]]:
    """Each folder's direct sub-folders (from the folders' ``parent`` attribute)."""
    children: dict[str, list[str]] = {}
    for row in rows:
        if row.type != FOLDER:
            continue
        parent = row.attributes.get("parent")
        if isinstance(parent, str):
            children.setdefault(parent, []).append(row.name)
    return children


def subtree(roots: Iterable[str], children: Mapping[str, list[str]]) -> set[str]:
    """``roots`` and every folder below them. A cycle (which the config service refuses) ends
    the walk instead of looping."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        folder = stack.pop()
        if folder in seen:
            continue
        seen.add(folder)
        stack.extend(children.get(folder, ()))
    return seen


def compute_grants(rows: Iterable[ConfigRow]) -> Grants:
    """Every listed user's visible objects in a tenant whose configuration is ``rows``."""
    rows = list(rows)
    problems: list[str] = []
    children = folder_tree(rows)
    filed: dict[str, list[ObjectKey]] = {}
    for row in rows:
        if row.folder is not None:
            filed.setdefault(row.folder, []).append((row.type, row.name))
    everything: set[str] = set()
    granted: dict[str, set[ObjectKey]] = {}
    for row in rows:
        if row.type != ACCESS_GROUP:
            continue
        where = f"access group {row.name!r}"
        attributes = row.attributes
        members = _names(attributes.get("members"), f"{where}: members", problems)
        all_objects = attributes.get("all_objects", False)
        if not isinstance(all_objects, bool):
            problems.append(f"{where}: all_objects is not true or false; taken as false")
            all_objects = False
        if all_objects:
            everything.update(members)
            continue
        objects = set(_objects(attributes.get("objects"), f"{where}: objects", problems))
        folders = _names(attributes.get("folders"), f"{where}: folders", problems)
        for folder in subtree(folders, children):
            objects.update(filed.get(folder, ()))
        for member in members:
            granted.setdefault(member, set()).update(objects)
    users: dict[str, Visible] = {user: frozenset(objects) for user, objects in granted.items()}
    users.update(dict.fromkeys(everything))
    return Grants(users=users, problems=tuple(problems))
