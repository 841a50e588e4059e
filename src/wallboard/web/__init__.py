"""The web tier: the versioned REST API under ``/api/v1`` and the live channel (the UI later).

- ``wallboard.web.app``: ``create_app(settings, ...)``, the FastAPI application.
- ``wallboard.web.errors``: the one error shape ``{code, message, detail}`` and its codes.
- ``wallboard.web.policy``: who may see what (the protocol); ``wallboard.identity.policy``'s
  ``SecuredPolicy`` is the one in force, ``AllowAll`` only when named (tests).
- ``auth``: login, sessions, API tokens and keys, users, kiosk links, audit, limits.
- ``templates``, ``widgets``, ``dashboards``: one package per domain (endpoints, service,
  repository, schemas); ``sync``: changes since a change number.
- ``values``: a widget's values with their freshness, its history and CSV export, read from
  the value store; ``objects``: the object search and the object configuration.
- ``wallboard.web.layouts``: the statistics widgets use, for the collector.
- ``wallboard.web.tenant_init``: ``wallboard tenant init`` (seeding the out-of-the-box templates).
"""
