"""Which events a subscriber receives: filters by tenant, named object and type prefix."""

from __future__ import annotations

import dataclasses

from wallboard.core.events import AnyEvent
from wallboard.core.protocol import Subscribe


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """The filters of a ``subscribe`` message, ready to test events against.

    ``None`` lets everything through; an empty set lets nothing through. An event passes when
    it passes all three filters. Unknown event types name no objects (this version cannot know
    which of their fields are ids), so an ``objects`` filter never lets them through.
    """

    tenants: frozenset[str] | None = None
    objects: frozenset[str] | None = None
    types: tuple[str, ...] | None = None

    @classmethod
    def from_subscribe(cls, message: Subscribe) -> SubscriptionFilter:
        return cls(
            tenants=None if message.tenants is None else frozenset(message.tenants),
            objects=None if message.objects is None else frozenset(message.objects),
            types=None if message.types is None else tuple(message.types),
        )

    @property
    def is_everything(self) -> bool:
        """True when every event passes, so sequence numbers arrive without holes."""
        return self.tenants is None and self.objects is None and self.types is None

    def matches(self, event: AnyEvent) -> bool:
        if self.tenants is not None and event.tenant not in self.tenants:
            return False
        if self.types is not None and not event.type.startswith(self.types):
            return False
        if self.objects is not None:
            return not self.objects.isdisjoint(event.references())
        return True
