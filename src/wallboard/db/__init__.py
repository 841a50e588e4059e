"""The metadata database: schema (SQLAlchemy models), migrations (Alembic) and repositories.

- ``wallboard.db.database``: ``open_database(settings)`` -> ``Database`` (engine + sessions),
  ``create_database_engine(url)``, ``normalize_database_url(url)``.
- ``wallboard.db.migrate``: ``upgrade_database``, ``downgrade_database``, ``current_revision``,
  ``check_database``, ``head_revision`` — safe to run concurrently (see that module).
- ``wallboard.db.models``: ``Tenant``, ``WidgetTemplate``, ``Dashboard``, ``Widget``,
  ``DeletedItem`` (for sync), ``LaunchedDashboard``.
- ``wallboard.db.tenants``: ``TenantRepository`` and the tenant field validators.
- ``wallboard.db.cli``: the ``wallboard db`` commands (upgrade, current, check).
"""
