"""Per-user object visibility: who may see which agents, queues and groups of a tenant.

- :mod:`~wallboard.permissions.grants`: the pure computation, from access groups and folders.
- :mod:`~wallboard.permissions.source`: reading the configuration rows (SQLAlchemy).
- :mod:`~wallboard.permissions.store`: the computed sets in Redis or in memory, versioned.
- :mod:`~wallboard.permissions.visibility`: the web tier's ``Visibility`` over that store.
- :mod:`~wallboard.permissions.service`: following the configuration and recomputing
  (``wallboard serve permissions``, or in-process in the demo).

docs/permissions.md describes the model and its guarantees.
"""
