"""The operations endpoints every process serves: ``/metrics``, ``/healthz`` and ``/readyz``.

``/healthz`` answers 200 while the process runs (a liveness probe); ``/readyz`` runs the
process's readiness checks (database reachable, upstream connected…) and answers 503 naming the
failing ones, so an orchestrator routes traffic only to replicas that can serve it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]
StatusReport = Callable[[], Awaitable[Mapping[str, object]]]

CHECK_TIMEOUT_SECONDS = 2.0


def ops_router(
    checks: Mapping[str, ReadinessCheck] | None = None,
    registry: CollectorRegistry = REGISTRY,
    warnings: Mapping[str, str] | None = None,
    status: StatusReport | None = None,
    role: Callable[[], str] | None = None,
    with_metrics: bool = True,
) -> APIRouter:
    """Routes for the three endpoints; mount on the process's own app or on a small one.

    ``with_metrics=False`` leaves ``/metrics`` out, for an app that faces users (the web tier
    serves it on its metrics port only).

    ``warnings`` (name → text) are shown on ``/readyz`` without making it fail: what an operator
    must know about how the process runs (an endpoint without authentication, for one).
    ``status`` adds ``/status``: what the process is doing, as JSON (positions, lag, freshness).
    ``role`` says on ``/readyz`` what the process is doing now, when that changes while it runs
    (a standby collector standing by, or collecting the ordinal it took over).
    """
    router = APIRouter(tags=["operations"])
    named_checks = dict(checks or {})
    named_warnings = dict(warnings or {})

    @router.get("/healthz", summary="Liveness: the process is running")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in named_checks.items():
            try:
                ok = await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
            except TimeoutError:
                results[name] = "timeout"
                continue
            except Exception as exc:  # a readiness probe reports failures, it never raises
                results[name] = f"error: {type(exc).__name__}"
                continue
            results[name] = "ok" if ok else "failing"
        ready = all(result == "ok" for result in results.values())
        body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
        if role is not None:
            body["role"] = role()
        if named_warnings:
            body["warnings"] = named_warnings
        return JSONResponse(body, status_code=200 if ready else 503)

    if status is not None:
        report = status

        @router.get("/status", summary="What the process is doing: positions, lag, freshness")
        async def status_route() -> JSONResponse:
            return JSONResponse(dict(await report()))

    if with_metrics:

        @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
        async def metrics() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def ops_app(
    checks: Mapping[str, ReadinessCheck] | None = None,
    registry: CollectorRegistry = REGISTRY,
    status: StatusReport | None = None,
    role: Callable[[], str] | None = None,
) -> FastAPI:
    """A stand-alone app with only the operations endpoints, for processes without HTTP."""
    app = FastAPI(title="Wallboard operations", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(ops_router(checks, registry, status=status, role=role))
    return app
