"""Who may see and change what: the access policy every read and write of the API goes through.

Handlers never filter by permission themselves: repositories build their queries from the
policy's ``readable_*`` statements (so list, get, export and sync share one readable query and
anything unreadable is a 404), and services call ``check_write`` before changing anything.
``wallboard.identity.policy.SecuredPolicy`` is the policy of a deployment (logins, roles,
tenants; the permissions service's :class:`Visibility` for objects); :class:`AllowAll` is in
force only where named (``WALLBOARD_WEB_POLICY=allow-all``, tests), and ``/readyz`` warns.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Any, Protocol

import sqlalchemy as sa
from starlette.requests import HTTPConnection

from wallboard.core.ids import TenantId


class Privilege(enum.StrEnum):
    """What a user may do, after the ladder of the product we model (docs/security.md).

    A role is a named set of these (``wallboard.identity``); the API enforces each one and the
    UI does not offer what the subject lacks.
    """

    VIEW_DASHBOARD = "view-dashboard"
    """See dashboards and wallboards; the session never expires (a wall display)."""
    VIEW_DASHBOARD_RESTRICTED = "view-dashboard-restricted"
    """See dashboards and wallboards; the session expires."""
    MANAGE_TABS = "manage-tabs"
    """Launch, close and customize (layout, settings) one's own dashboards and wallboards."""
    EDIT_WIDGET_DISPLAY = "edit-widget-display"
    """Change how a widget shows its values (display type, columns, sort, thresholds)."""
    MANAGE_WIDGETS = "manage-widgets"
    """Add and remove widgets, and change what they show (template, objects)."""
    MANAGE_SHARED_DASHBOARDS = "manage-shared-dashboards"
    """Share dashboards, and change or delete shared ones of any owner."""
    MANAGE_TEMPLATES = "manage-templates"
    """Create, change, import and delete widget templates."""
    EXCEED_LIMITS = "exceed-limits"
    """Add dashboards or widgets beyond the per-user limits."""
    MANAGE_USERS = "manage-users"
    """Create, change and delete users, their tokens and kiosk links; read the audit log."""
    MANAGE_CONFIGURATION = "manage-configuration"
    """Change the configuration objects (agents, groups, queues, access groups, folders…)."""


ALL_PRIVILEGES = frozenset(Privilege)


@dataclasses.dataclass(frozen=True)
class Subject:
    """Who is asking: a user name (the owner of what they create), the tenant the user belongs
    to, what they may do, and which objects they may see."""

    user: str
    anonymous: bool = False
    tenant: TenantId | None = None
    """The user's tenant; None: every tenant (the allow-all policy, and the tenant init job)."""
    privileges: frozenset[Privilege] = ALL_PRIVILEGES
    visible_objects: frozenset[tuple[str, str]] | None = None
    """The ``(object type, object id)`` pairs the subject may see; None: every object."""
    kiosk_dashboard: str | None = None
    """Set for a kiosk link's subject: the one wallboard (uid) it may show, read-only."""
    kiosk_rotation: frozenset[str] = frozenset()
    """A kiosk subject's other readable dashboards: those its wallboard rotates through."""

    def may(self, privilege: Privilege) -> bool:
        return privilege in self.privileges


class Visibility(Protocol):
    """Which objects a subject may see, as the permissions service computed them."""

    async def visible_objects(
        self, tenant: TenantId, user: str
    ) -> frozenset[tuple[str, str]] | None:
        """The user's visible ``(object type, object id)`` pairs in ``tenant``; None: all."""
        ...


ANONYMOUS_USER = "anonymous"


class WriteAction(enum.StrEnum):
    """What a write does to an item, for :meth:`AccessPolicy.check_write`."""

    CREATE = "create"
    CHANGE = "change"
    """Change what the item is (a widget: its template or objects)."""
    CHANGE_DISPLAY = "change-display"
    """Change only how a widget shows its values (title, display type, options, position)."""
    DELETE = "delete"


def visible_only(subject: Subject, objects: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``objects`` the subject may see, in order: all of them when ``visible_objects`` is None
    (the allow-all subject, an ``all_objects`` grant), else those in the set. Every policy's
    ``readable_objects`` narrows with this, so REST reads and the live channel agree."""
    visible = subject.visible_objects
    if visible is None:
        return list(objects)
    return [key for key in objects if key in visible]


class AccessPolicy(Protocol):
    """The questions the API asks about a subject; every method is cheap and non-blocking
    except ``authenticate``."""

    async def authenticate(self, connection: HTTPConnection) -> Subject:
        """The subject of a request (raises Unauthenticated when it must log in)."""
        ...

    def readable_templates(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        """``statement`` (over WidgetTemplate) narrowed to what the subject may read."""
        ...

    def readable_dashboards(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        """``statement`` (over Dashboard) narrowed to what the subject may read."""
        ...

    def readable_objects(
        self, subject: Subject, tenant: TenantId, objects: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The ``(object type, object id)`` pairs the subject may see (search, values, history
        and exports show nothing else), in the order given."""
        ...

    def check_write(
        self,
        subject: Subject,
        tenant: TenantId,
        kind: str,
        uid: str,
        *,
        action: WriteAction = WriteAction.CHANGE,
        owner: str | None = None,
        shared: bool = False,
        sharing: bool = False,
    ) -> None:
        """Raise PermissionDenied unless the subject may do ``action`` to the ``kind`` item
        ``uid``.

        Kinds: ``template``, ``dashboard``, ``widget``, ``launched`` (the subject's tabs),
        ``user``, ``token``, ``kiosk-link``, ``limits``, ``signing-key``, ``config``. For a
        dashboard and a widget, ``owner`` and ``shared`` are the dashboard's (a new one's:
        the subject and what the body asks); ``sharing`` says the write changes whether the
        dashboard is shared.
        """
        ...


class AllowAll:
    """Everyone is the anonymous user and may read and change everything in every tenant,
    private dashboards included.

    Objects are narrowed by the subject's ``visible_objects`` all the same (None here, so
    nothing is hidden), so that one code path serves every policy.

    Only for tests and where named (``WALLBOARD_WEB_POLICY=allow-all``); it is deliberately
    named so that a deployment using it is obvious (``/readyz`` warns about it).
    """

    name = "allow-all"

    async def authenticate(self, connection: HTTPConnection) -> Subject:
        return Subject(user=ANONYMOUS_USER, anonymous=True)

    def readable_templates(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        return statement

    def readable_dashboards(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        return statement

    def readable_objects(
        self, subject: Subject, tenant: TenantId, objects: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        return visible_only(subject, objects)

    def check_write(
        self,
        subject: Subject,
        tenant: TenantId,
        kind: str,
        uid: str,
        *,
        action: WriteAction = WriteAction.CHANGE,
        owner: str | None = None,
        shared: bool = False,
        sharing: bool = False,
    ) -> None:
        return None
