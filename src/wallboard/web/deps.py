"""Request-scoped dependencies: the session (committed at the edge), tenant, subject, If-Match.

Services only ``flush``; :class:`CommitRoute` commits after the endpoint has returned, so a
request's writes land together or not at all, and no endpoint can forget to commit.

Writes of a tenant run one at a time: a request that may write (any method but GET and HEAD)
takes the tenant's change number — and with it the tenant row's lock on PostgreSQL; on SQLite
its transaction begins IMMEDIATE, holding the write lock — before it reads anything. So the
version an If-Match is checked against is the one the write replaces, and two editors holding
the same version cannot both succeed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import InvalidInput, NotFound
from wallboard.core.ids import TenantId
from wallboard.db.database import SQLITE_BEGIN_OPTION, Database
from wallboard.db.models import Tenant
from wallboard.db.tenants import check_tenant_id
from wallboard.identity.service import Identity
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.web.changes import forget_change_numbers, next_change_number
from wallboard.web.errors import NoValueStore, VersionMismatch
from wallboard.web.policy import AccessPolicy, Subject

_SESSION = "wallboard_session"
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclasses.dataclass(frozen=True)
class WebState:
    """What ``create_app`` hands the dependencies (``app.state.web``)."""

    database: Database
    policy: AccessPolicy
    store: ValueStore | None = None
    """The value store, when the process has one (values, the live channel, status)."""
    objects: Mapping[str, ObjectConfig] = dataclasses.field(default_factory=dict)
    """Each tenant's configured objects (groups and their members), as the collector's."""
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    identity: Identity | None = None
    """Users, sessions, tokens and kiosk links (the auth routes; SecuredPolicy's own)."""


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


class CommitRoute(APIRoute):
    """Commits the request's session after the endpoint returned; rolls back on any error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
                session: AsyncSession | None = getattr(request.state, _SESSION, None)
                if session is not None:
                    await session.commit()
                return response
            finally:
                session = getattr(request.state, _SESSION, None)
                if session is not None:
                    setattr(request.state, _SESSION, None)
                    forget_change_numbers(session)
                    await session.close()

        return run


async def get_subject(request: Request) -> Subject:
    return await web_state(request).policy.authenticate(request)


SubjectDep = Annotated[Subject, Depends(get_subject)]


async def get_session(request: Request, subject: SubjectDep) -> AsyncSession:
    """The request's database session, opened after the caller is authenticated: the policy
    may write (a session's last use) in its own transaction, which must not wait for this one's
    write lock (SQLite) — and an unauthenticated request touches nothing."""
    session = getattr(request.state, _SESSION, None)
    if session is None:
        session = web_state(request).database.sessions()
        setattr(request.state, _SESSION, session)
        if request.method not in READ_METHODS:
            # Ignored by PostgreSQL; on SQLite a deferred transaction that read and then
            # writes after another writer committed fails at once instead of waiting.
            await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_policy(request: Request) -> AccessPolicy:
    return web_state(request).policy


PolicyDep = Annotated[AccessPolicy, Depends(get_policy)]


async def get_identity(request: Request) -> Identity:
    identity = web_state(request).identity
    assert identity is not None, "create_app always sets the identity service"
    return identity


IdentityDep = Annotated[Identity, Depends(get_identity)]


async def get_store(request: Request) -> ValueStore:
    """The value store; 503 ``no_value_store`` when the process has none."""
    store = web_state(request).store
    if store is None:
        raise NoValueStore(
            "this server has no value store (WALLBOARD_REDIS_URL is not set): values, history "
            "and exports are not available"
        )
    return store


StoreDep = Annotated[ValueStore, Depends(get_store)]


async def get_tenant(
    request: Request,
    subject: SubjectDep,
    session: SessionDep,
    tenant: Annotated[str, Path(description="The tenant's id (a slug).", max_length=63)],
) -> TenantId:
    """The tenant of the path; 404 when it does not exist (or is not a valid id), and when it
    is not the subject's: another tenant's paths look like nothing at all. A request that may
    write takes the tenant's write turn here (see the module docstring)."""
    try:
        tenant_id = check_tenant_id(tenant)
    except InvalidInput:
        raise NotFound(f"tenant {tenant[:63]!r} does not exist", tenant=tenant[:63]) from None
    if subject.tenant is not None and subject.tenant != tenant_id:
        raise NotFound(f"tenant {tenant_id!r} does not exist", tenant=tenant_id)
    if await session.get(Tenant, tenant_id) is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", tenant=tenant_id)
    if request.method not in READ_METHODS:
        await next_change_number(session, tenant_id)
    return tenant_id


TenantDep = Annotated[TenantId, Depends(get_tenant)]


def get_if_match(
    if_match: Annotated[
        str | None,
        Header(
            description="The ETag of the version the change is based on (or *); a stale one "
            "is answered 412 version_mismatch.",
            max_length=1000,
        ),
    ] = None,
) -> str | None:
    return if_match


IfMatchDep = Annotated[str | None, Depends(get_if_match)]


def etag_of(row_id: int, version: int) -> str:
    """The strong ETag of a stored item at a version (its database id, so a re-created item
    with the same uid does not match an old tag)."""
    return f'"{row_id}.{version}"'


def check_preconditions(
    *, row_id: int, version: int, if_match: str | None, body_version: int | None = None
) -> None:
    """Raise VersionMismatch when the client's If-Match or body ``version`` is not current.

    Either may be absent (then the write is unconditional). The body's ``version`` exists
    because proxies may drop or weaken ETags (nginx does when it compresses).
    """
    if body_version is not None and body_version != version:
        raise VersionMismatch(
            f"version {body_version} is not the current version {version}; "
            "read it again and reapply the change",
            current_version=version,
        )
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    current = etag_of(row_id, version)
    if not any(tag.removeprefix("W/") == current for tag in tags):
        raise VersionMismatch(
            f"If-Match {if_match[:100]!r} is not the current ETag {current}; "
            "read it again and reapply the change",
            current_version=version,
        )
