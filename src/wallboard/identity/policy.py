"""``SecuredPolicy``: the access policy of a deployment — who the caller is (session cookie with
CSRF check, bearer API token, or kiosk link), which tenant they belong to, and what their roles
let them change.

Reads are narrowed here (dashboards: the shared ones and the caller's own private ones; a kiosk
link: its wallboard and those it rotates through); which configuration objects a user sees
comes from the :class:`~wallboard.web.policy.Visibility` given to the identity service.
Tenant isolation is enforced by ``get_tenant`` (any path of another tenant is 404) and again by
every readable statement here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from starlette.requests import HTTPConnection

from wallboard.core.errors import PermissionDenied, Unauthenticated
from wallboard.core.ids import TenantId
from wallboard.db.models import Dashboard
from wallboard.identity.service import Identity
from wallboard.web.policy import Privilege, Subject, WriteAction

SESSION_COOKIE = "wallboard_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# What each kind of item needs to be written (dashboards and widgets: see check_write).
_KIND_PRIVILEGE: dict[str, Privilege] = {
    "template": Privilege.MANAGE_TEMPLATES,
    "launched": Privilege.MANAGE_TABS,
    "user": Privilege.MANAGE_USERS,
    "kiosk-link": Privilege.MANAGE_USERS,
    "limits": Privilege.MANAGE_USERS,
    "audit": Privilege.MANAGE_USERS,
    "config": Privilege.MANAGE_CONFIGURATION,
}


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


def _denied(privilege: Privilege, what: str) -> PermissionDenied:
    return PermissionDenied(
        f"{what} needs the {privilege.value} privilege", privilege=privilege.value
    )


class SecuredPolicy:
    """Authentication by the identity service; privileges by role; tenants isolated."""

    name = "secured"

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    async def authenticate(self, connection: HTTPConnection) -> Subject:
        method = connection.scope.get("method")  # None on a WebSocket
        unsafe = method is not None and method not in SAFE_METHODS
        authorization = connection.headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer" and credential:
            return await self.identity.token_subject(credential)
        kiosk = credential if scheme.lower() == "kiosk" else connection.query_params.get("kiosk")
        if kiosk:
            if unsafe:
                raise PermissionDenied("a kiosk link is read-only")
            return await self.identity.kiosk_subject(kiosk)
        if authorization:
            raise Unauthenticated("the Authorization header is neither Bearer nor Kiosk")
        cookie = connection.cookies.get(SESSION_COOKIE)
        if cookie:
            found = await self.identity.session_of(
                cookie, csrf=connection.headers.get(CSRF_HEADER), check_csrf=unsafe
            )
            return found.subject
        raise Unauthenticated("log in first (session cookie, API token or kiosk link)")

    @staticmethod
    def _other_tenant(subject: Subject, tenant: TenantId) -> bool:
        return subject.tenant is not None and subject.tenant != tenant

    def readable_templates(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        if self._other_tenant(subject, tenant):
            return statement.where(sa.false())
        return statement

    def readable_dashboards(
        self, subject: Subject, tenant: TenantId, statement: sa.Select[Any]
    ) -> sa.Select[Any]:
        if self._other_tenant(subject, tenant):
            return statement.where(sa.false())
        if subject.kiosk_dashboard is not None:
            uids = {subject.kiosk_dashboard, *subject.kiosk_rotation}
            return statement.where(Dashboard.uid.in_(sorted(uids)))
        return statement.where(sa.or_(Dashboard.shared.is_(True), Dashboard.owner == subject.user))

    def readable_objects(
        self, subject: Subject, tenant: TenantId, objects: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        if self._other_tenant(subject, tenant):
            return []
        if subject.visible_objects is None:
            return list(objects)
        visible = subject.visible_objects
        return [item for item in objects if item in visible]

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
        if self._other_tenant(subject, tenant):
            raise PermissionDenied(f"{tenant!r} is not the caller's tenant")
        if subject.kiosk_dashboard is not None or subject.anonymous:
            raise PermissionDenied("a kiosk link is read-only")
        what = f"{action.value} of {kind} {uid!r}"
        if kind in ("dashboard", "widget"):
            self._check_dashboard(subject, what, owner=owner, shared=shared, sharing=sharing)
            if kind == "dashboard":
                return
            if action is WriteAction.CHANGE_DISPLAY:
                if not (
                    subject.may(Privilege.EDIT_WIDGET_DISPLAY)
                    or subject.may(Privilege.MANAGE_WIDGETS)
                ):
                    raise _denied(Privilege.EDIT_WIDGET_DISPLAY, what)
            elif not subject.may(Privilege.MANAGE_WIDGETS):
                raise _denied(Privilege.MANAGE_WIDGETS, what)
            return
        if kind in ("token", "signing-key"):
            # A user's own tokens need no privilege (checked by the endpoint); the installation's
            # signing keys are for whoever holds every privilege (an administrator).
            if kind == "signing-key" and not all(subject.may(p) for p in Privilege):
                raise PermissionDenied(f"{what} is for administrators")
            return
        privilege = _KIND_PRIVILEGE.get(kind)
        if privilege is None:
            raise PermissionDenied(f"{what}: no one may write a {kind!r}")
        if not subject.may(privilege):
            raise _denied(privilege, what)

    @staticmethod
    def _check_dashboard(
        subject: Subject, what: str, *, owner: str | None, shared: bool, sharing: bool
    ) -> None:
        own = owner is None or owner == subject.user
        # Sharing or unsharing, and any change to another owner's (shared) dashboard.
        if (sharing or not own) and not subject.may(Privilege.MANAGE_SHARED_DASHBOARDS):
            raise _denied(Privilege.MANAGE_SHARED_DASHBOARDS, what)
        if own and not subject.may(Privilege.MANAGE_TABS):
            raise _denied(Privilege.MANAGE_TABS, what)
