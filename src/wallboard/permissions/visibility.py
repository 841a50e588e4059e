"""The web tier's view of the permissions: a :class:`~wallboard.web.policy.Visibility` that
reads the sets the permissions service stored, and their version (the live channel compares it
to notice a change and resend what a connection may see)."""

from __future__ import annotations

from wallboard.core.errors import Unavailable
from wallboard.core.ids import TenantId
from wallboard.permissions.grants import Visible
from wallboard.permissions.store import PermissionsStore


class StoredVisibility:
    """Visible objects as stored by the permissions service.

    A tenant whose permissions were never computed raises Unavailable (a 503 naming it) rather
    than showing nothing or everything: ``wallboard serve permissions`` is not running, or has
    not reached the tenant yet.
    """

    def __init__(self, store: PermissionsStore) -> None:
        self.store = store

    async def visible_objects(self, tenant: TenantId, user: str) -> Visible:
        found = await self.store.read(tenant, user)
        if found is None:
            raise Unavailable(
                f"the permissions of tenant {tenant!r} are not computed yet "
                "(is `wallboard serve permissions` running?)",
                tenant=tenant,
            )
        return found[1]

    async def version(self, tenant: TenantId) -> int:
        """The version of the tenant's stored permissions (0: never computed): when it moves,
        someone's visible objects may have changed."""
        return await self.store.version(tenant) or 0
