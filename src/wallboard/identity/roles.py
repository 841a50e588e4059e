"""Roles: named sets of privileges (docs/security.md has the table)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from wallboard.core.errors import InvalidInput
from wallboard.web.policy import ALL_PRIVILEGES, Privilege


class Role(enum.StrEnum):
    WALL_DISPLAY = "wall-display"
    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMINISTRATOR = "administrator"


_VIEWER = frozenset({Privilege.VIEW_DASHBOARD_RESTRICTED})
_SUPERVISOR = _VIEWER | {
    Privilege.MANAGE_TABS,
    Privilege.EDIT_WIDGET_DISPLAY,
    Privilege.MANAGE_WIDGETS,
}
_MANAGER = _SUPERVISOR | {
    Privilege.MANAGE_SHARED_DASHBOARDS,
    Privilege.MANAGE_TEMPLATES,
    Privilege.EXCEED_LIMITS,
}

ROLE_PRIVILEGES: dict[Role, frozenset[Privilege]] = {
    Role.WALL_DISPLAY: frozenset({Privilege.VIEW_DASHBOARD}),
    Role.VIEWER: _VIEWER,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.MANAGER: _MANAGER,
    Role.ADMINISTRATOR: ALL_PRIVILEGES,
}


def check_roles(names: Iterable[str]) -> list[Role]:
    """The roles named, in order without repeats; InvalidInput naming an unknown one."""
    roles: list[Role] = []
    for name in names:
        try:
            role = Role(name)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {name!r}; roles: {known}", role=name) from None
        if role not in roles:
            roles.append(role)
    return roles


def privileges_of(roles: Iterable[str]) -> frozenset[Privilege]:
    """The union of the roles' privileges (unknown names, from an older version, give none)."""
    found: set[Privilege] = set()
    for name in roles:
        try:
            found |= ROLE_PRIVILEGES[Role(name)]
        except ValueError:
            continue
    return frozenset(found)


def session_expires(privileges: frozenset[Privilege]) -> bool:
    """Whether a browser session of a user with these privileges expires: only a pure wall
    display (view-dashboard without view-dashboard-restricted) keeps its session forever."""
    return not (
        Privilege.VIEW_DASHBOARD in privileges
        and Privilege.VIEW_DASHBOARD_RESTRICTED not in privileges
    )
