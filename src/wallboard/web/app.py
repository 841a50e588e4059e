"""``create_app``: the web tier's FastAPI application, for ``wallboard serve web`` and for any
process that mounts it (the one-process ``wallboard demo``/``run``).

The REST API lives under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``); ``/healthz`` and
``/readyz`` answer beside it, ``/metrics`` only on the metrics port (``serve_ops``); the
browser UI is served at ``/`` (its modules under ``/ui``, docs/ui.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketException
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallboard.config.api import router as config_router
from wallboard.core.clock import Clock, SystemClock
from wallboard.core.errors import PermissionDenied, Unauthenticated
from wallboard.core.ids import TenantId
from wallboard.db.database import Database
from wallboard.db.migrate import check_database
from wallboard.identity.policy import SecuredPolicy
from wallboard.identity.service import Identity
from wallboard.ops.health import ReadinessCheck, ops_router
from wallboard.ops.metrics import counter, histogram
from wallboard.settings import Settings
from wallboard.stats.state import ObjectConfig
from wallboard.store.interface import ValueStore
from wallboard.web.auth.endpoints import committed as auth_committed_router
from wallboard.web.auth.endpoints import router as auth_router
from wallboard.web.auth.tenant_admin import router as tenant_admin_router
from wallboard.web.dashboards.endpoints import router as dashboards_router
from wallboard.web.deps import WebState
from wallboard.web.errors import STATUS_OF_CODE, install_error_handlers
from wallboard.web.objects.config import load_object_config
from wallboard.web.objects.endpoints import router as objects_router
from wallboard.web.policy import AccessPolicy, AllowAll
from wallboard.web.status import router as status_router
from wallboard.web.sync import router as sync_router
from wallboard.web.templates.endpoints import router as templates_router
from wallboard.web.ui import mount_ui
from wallboard.web.values.endpoints import router as values_router
from wallboard.web.widgets.endpoints import router as widgets_router

if TYPE_CHECKING:
    from wallboard.web.live import VersionedVisibility

API_PREFIX = "/api/v1"
API_VERSION = "1"

# A reserved tenant id (ids of real tenants are slugs, never starting with "~"): reading its
# version proves the store answers without touching any tenant's data.
_PROBE_TENANT = TenantId("~web-readiness")


class BodySizeLimit:
    """Refuses request bodies over ``limit`` bytes with 413 ``payload_too_large``, whether the
    client declared the length or streams the body, before the application reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "code": "payload_too_large",
                "message": f"the request body is larger than {self.limit} bytes",
                "detail": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": STATUS_OF_CODE["payload_too_large"],
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """Counts requests and times them by method, route template and status (templates, not
    paths: a label per uid would grow without bound)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = counter(
            "web",
            "requests",
            "HTTP requests answered, by method, route template and status code.",
            labels=("method", "route", "status"),
            registry=registry,
        )
        self.duration = histogram(
            "web",
            "request_duration",
            "Time to answer an HTTP request, by method and route template.",
            labels=("method", "route"),
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            if str(scope.get("path", "")).startswith(f"{API_PREFIX}/") and route.startswith("/"):
                # Routes of an included router may carry their path below its prefix only.
                route = route if route.startswith(API_PREFIX) else API_PREFIX + route
            method = str(scope.get("method", ""))
            self.requests.labels(method, route, str(status)).inc()
            self.duration.labels(method, route).observe(time.perf_counter() - started)


def readiness_checks(database: Database, store: ValueStore | None) -> dict[str, ReadinessCheck]:
    """``schema``: the database answers and is at this code's migration head; ``value_store``:
    the store answers (when the process has one)."""

    async def schema_current() -> bool:
        return (await check_database(database.engine)).at_head

    checks: dict[str, ReadinessCheck] = {"schema": schema_current}
    if store is not None:
        value_store = store

        async def store_reachable() -> bool:
            await value_store.current_version(_PROBE_TENANT)
            return True

        checks["value_store"] = store_reachable
    return checks


def api_router() -> APIRouter:
    """Every route of the versioned API, one router per domain package."""
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(templates_router)
    router.include_router(dashboards_router)
    router.include_router(widgets_router)
    router.include_router(values_router)
    router.include_router(objects_router)
    router.include_router(sync_router)
    router.include_router(status_router)
    router.include_router(config_router)
    router.include_router(auth_router)
    router.include_router(auth_committed_router)
    router.include_router(tenant_admin_router)
    return router


def choose_policy(
    settings: Settings, identity: Identity, policy: AccessPolicy | None
) -> tuple[AccessPolicy, Identity]:
    """The policy an app serves under: ``policy`` when given, else the one
    ``settings.web_policy`` names (:class:`SecuredPolicy` over ``identity``, or, named
    explicitly, :class:`AllowAll`); with the identity service the app's auth routes use (a
    given SecuredPolicy's own)."""
    chosen: AccessPolicy
    if policy is not None:
        chosen = policy
    elif settings.web_policy == "allow-all":
        chosen = AllowAll()
    else:
        chosen = SecuredPolicy(identity)
    if isinstance(chosen, SecuredPolicy):
        identity = chosen.identity
    return chosen, identity


def mount_live(
    app: FastAPI,
    store: ValueStore,
    database: Database,
    policy: AccessPolicy,
    registry: CollectorRegistry,
    visibility: VersionedVisibility | None = None,
) -> None:
    """The live channel at ``/api/v1/live`` (docs/live.md): dashboards and widgets resolved
    from the metadata, for the subject the policy sees on each connection, narrowed to its
    visible objects; with ``visibility``, open connections follow permission changes."""
    from wallboard.live.channel import ConnectionAccess, live_endpoint
    from wallboard.live.hub import Hub
    from wallboard.web.live import SubjectAccess, VisibilityWatch

    hub = Hub(store)
    app.state.live_hub = hub
    watch = VisibilityWatch(visibility) if visibility is not None else None

    async def access_for(websocket: WebSocket) -> ConnectionAccess:
        try:
            subject = await policy.authenticate(websocket)
        except (Unauthenticated, PermissionDenied) as exc:
            # Refused before the handshake completes: the client sees HTTP 403.
            raise WebSocketException(WS_1008_POLICY_VIOLATION, exc.message[:120]) from None
        return SubjectAccess(database, policy, subject, watch).connection_access()

    app.add_api_websocket_route(
        f"{API_PREFIX}/live", live_endpoint(hub, access_for=access_for, registry=registry)
    )


def create_app(
    settings: Settings,
    *,
    database: Database,
    store: ValueStore | None = None,
    policy: AccessPolicy | None = None,
    objects: Mapping[str, ObjectConfig] | None = None,
    extra_checks: Mapping[str, ReadinessCheck] | None = None,
    registry: CollectorRegistry = REGISTRY,
    clock: Clock | None = None,
    visibility: VersionedVisibility | None = None,
) -> FastAPI:
    """The web application on an open ``database`` (and value store, when there is one).

    The caller owns ``database`` and ``store`` (opens and closes them); ``policy`` decides who
    sees what: by default the one ``settings.web_policy`` names — :class:`SecuredPolicy`
    (logins, roles, tenants; objects as ``visibility`` says, all by default) or, named
    explicitly, :class:`AllowAll`. ``objects`` is each
    tenant's object configuration (groups and members, for group selections and the object
    search), read on every request: a mapping a :class:`~wallboard.config.follower.ConfigFollower`
    keeps current is followed live; by default the collector's, from
    ``WALLBOARD_COLLECTOR_OBJECTS``. ``clock``
    measures the age of the collectors' status records (the system clock by default).
    ``visibility`` (the permissions service's sets) lets open live connections follow
    permission changes; the policy fills each subject's visible objects itself.
    """
    chosen_policy, identity = choose_policy(
        settings,
        Identity(database, settings, visibility=visibility, clock=clock, registry=registry),
        policy,
    )
    app = FastAPI(
        title="Wallboard API",
        version=API_VERSION,
        description=(
            "Version 1 of the Wallboard REST API: stable. Within /api/v1 fields and routes are "
            "only added, never removed or changed in meaning; see docs/api.md."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.web = WebState(
        database=database,
        policy=chosen_policy,
        store=store,
        objects=objects if objects is not None else load_object_config(settings),
        clock=clock or SystemClock(),
        identity=identity,
    )
    install_error_handlers(app)
    app.include_router(api_router())
    checks = {**readiness_checks(database, store), **(extra_checks or {})}
    warnings = {}
    if isinstance(chosen_policy, AllowAll):
        warnings["policy"] = (
            "allow-all: every request may read and change every tenant's dashboards "
            "(no authentication or permissions yet)"
        )
    app.include_router(ops_router(checks, warnings=warnings, with_metrics=False))
    if store is not None:
        mount_live(app, store, database, chosen_policy, registry, visibility)
    mount_ui(app, database, chosen_policy)
    app.add_middleware(BodySizeLimit, limit=settings.web_max_body_bytes)
    app.add_middleware(RequestMetrics, registry=registry)
    return app
