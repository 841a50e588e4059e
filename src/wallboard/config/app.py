"""The configuration service's own application (``wallboard serve config``): only the config
API under ``/api/v1/config``, with ``/healthz`` and ``/readyz``. The same routes are part of
the web app (``create_app``), so a one-process run (the demo) serves them there."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.config.api import router as config_router
from wallboard.db.database import Database
from wallboard.identity.service import Identity
from wallboard.ops.health import ops_router
from wallboard.settings import Settings
from wallboard.web.app import (
    API_PREFIX,
    API_VERSION,
    BodySizeLimit,
    RequestMetrics,
    choose_policy,
    readiness_checks,
)
from wallboard.web.deps import WebState
from wallboard.web.errors import install_error_handlers
from wallboard.web.policy import AccessPolicy, AllowAll


def create_config_app(
    settings: Settings,
    *,
    database: Database,
    policy: AccessPolicy | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """The config API on an open ``database`` (the caller closes it), under the policy
    ``settings.web_policy`` names (as the web app: :class:`SecuredPolicy` by default; scripts
    authenticate with API tokens) unless ``policy`` is given."""
    chosen, identity = choose_policy(
        settings, Identity(database, settings, registry=registry), policy
    )
    app = FastAPI(
        title="Wallboard configuration API",
        version=API_VERSION,
        openapi_url=f"{API_PREFIX}/config/openapi.json",
        docs_url=f"{API_PREFIX}/config/docs",
        redoc_url=None,
    )
    app.state.web = WebState(database=database, policy=chosen, identity=identity)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(config_router)
    app.include_router(api)
    warnings = {}
    if isinstance(chosen, AllowAll):
        warnings["policy"] = "allow-all: every request may read and change every configuration"
    app.include_router(
        ops_router(readiness_checks(database, None), warnings=warnings, with_metrics=False)
    )
    app.add_middleware(BodySizeLimit, limit=settings.web_max_body_bytes)
    app.add_middleware(RequestMetrics, registry=registry)
    return app
