"""Identity: users and roles, browser sessions with CSRF protection, signed API tokens, kiosk
links, login throttling, the audit log, usage limits, OpenID Connect login, and
:class:`~wallboard.identity.policy.SecuredPolicy`, the access policy enforcing all of it
(docs/security.md)."""
