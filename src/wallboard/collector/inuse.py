"""The statistics in use: what a collector opens, and nothing more.

Every open statistic costs memory and time on every event, so a collector computes only what
someone looks at: the always-on statistics (alerts and status need them whatever is on
screen) plus those of the layouts — the dashboards' widgets, each naming a tenant, statistics
and optionally the objects they show. When a layout comes or goes, the collector opens what is
new and closes what no layout needs any more (its values are removed from the store).

Until the web tier keeps layouts in its metadata database, they come from a YAML file
(``WALLBOARD_COLLECTOR_IN_USE``), read again whenever it changes::

    always: [agent.status, queue.calls_waiting]   # optional; DEFAULT_ALWAYS otherwise
    layouts:
      - name: retail wallboard                    # for the operator's eye
        tenant: retail                            # or "*": every tenant
        statistics: [queue.service_level, queue.asa, agent.status]
        objects: {queue: [sales, support]}        # optional: only these of the types named

Without a file every definition is open on every object (:data:`EVERYTHING`): what the demo
and ``wallboard stats`` do.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.inputs import load_yaml_file
from wallboard.stats import DefinitionSet
from wallboard.store.values import check_tenant_id

log = logging.getLogger(__name__)

DEFAULT_ALWAYS: Final = (
    "agent.status",
    "queue.calls_waiting",
    "queue.longest_wait",
    "tenant.agents_logged_in",
    "tenant.calls_waiting",
    "tenant.entered",
)
"""Open on every object of their type whatever the layouts: who is logged in and in which
state, and what waits — what alerts and the status page read. Those missing from custom
definitions are left out."""

MAX_LAYOUTS: Final = 100_000


class LayoutDocument(msgspec.Struct, forbid_unknown_fields=True):
    tenant: str
    statistics: list[str]
    name: str = ""
    objects: dict[str, list[str]] | None = None


class InUseDocument(msgspec.Struct, forbid_unknown_fields=True):
    always: list[str] | None = None
    layouts: list[LayoutDocument] = []


@dataclasses.dataclass(frozen=True)
class Layout:
    """Statistics a tenant's screen shows: on every object of their type, or on those named."""

    tenant: str
    statistics: frozenset[str]
    objects: Mapping[str, frozenset[str]] | None = None
    name: str = ""

    def wanted(self, tenant: str, object_type: str, object_id: str) -> bool:
        if self.tenant not in ("*", tenant):
            return False
        if self.objects is None or object_type not in self.objects:
            return True  # the types it names are restricted, the others are not
        return object_id in self.objects[object_type]

    def __hash__(self) -> int:
        # The live hub keys its views by targets made of layouts; ``objects`` is a mapping
        # (unhashable), so it is hashed by its items.
        objects = None if self.objects is None else frozenset(self.objects.items())
        return hash((self.tenant, self.statistics, objects, self.name))


class InUse:
    """Which statistics are open on an object; ``everything`` opens every definition."""

    def __init__(
        self,
        definitions: DefinitionSet,
        *,
        always: tuple[str, ...] | None = None,
        layouts: tuple[Layout, ...] = (),
        everything: bool = False,
    ) -> None:
        self.everything = everything
        self.layouts = layouts
        by_type: dict[str, list[str]] = {}
        for definition in definitions.by_id.values():
            by_type.setdefault(definition.object.value, []).append(definition.id)
        self._by_type = {t: frozenset(ids) for t, ids in by_type.items()}
        if always is None:
            always = tuple(s for s in DEFAULT_ALWAYS if s in definitions.by_id)
        self.always = frozenset(always)
        self._cache: dict[tuple[str, str, str], frozenset[str]] = {}

    def wanted(self, tenant: str, object_type: str, object_id: str) -> frozenset[str]:
        """The statistics to have open on the object."""
        key = (tenant, object_type, object_id)
        found = self._cache.get(key)
        if found is not None:
            return found
        of_type = self._by_type.get(object_type, frozenset())
        if self.everything:
            found = of_type
        else:
            ids = set(self.always & of_type)
            for layout in self.layouts:
                if layout.wanted(tenant, object_type, object_id):
                    ids |= layout.statistics & of_type
            found = frozenset(ids)
        if len(self._cache) < 1_000_000:
            self._cache[key] = found
        return found

    def describe(self) -> dict[str, object]:
        """What the status endpoint shows."""
        if self.everything:
            return {"mode": "everything"}
        return {
            "mode": "layouts",
            "always": sorted(self.always),
            "layouts": len(self.layouts),
        }


def everything(definitions: DefinitionSet) -> InUse:
    return InUse(definitions, everything=True)


def decode_in_use(document: object, definitions: DefinitionSet, source: str) -> InUse:
    """Check an in-use document; InvalidInput names the layout and field that are wrong."""
    try:
        doc = msgspec.convert(document if document is not None else {}, type=InUseDocument)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{source}: {exc}") from None
    if len(doc.layouts) > MAX_LAYOUTS:
        raise InvalidInput(f"{source}: more than {MAX_LAYOUTS} layouts")

    def check_ids(ids: list[str], where: str) -> frozenset[str]:
        for stat_id in ids:
            if stat_id not in definitions.by_id:
                raise InvalidInput(f"{source}: {where}: unknown statistic {stat_id!r}")
        return frozenset(ids)

    always = None
    if doc.always is not None:
        always = tuple(sorted(check_ids(doc.always, "always")))
    layouts = []
    for index, item in enumerate(doc.layouts):
        where = f"layouts[{index}]" + (f" ({item.name})" if item.name else "")
        if item.tenant != "*":
            try:
                check_tenant_id(item.tenant)
            except InvalidInput as exc:
                raise InvalidInput(f"{source}: {where}.tenant: {exc.message}") from None
        objects = None
        if item.objects is not None:
            objects = {t: frozenset(ids) for t, ids in item.objects.items()}
        layouts.append(
            Layout(
                tenant=item.tenant,
                statistics=check_ids(item.statistics, f"{where}.statistics"),
                objects=objects,
                name=item.name,
            )
        )
    return InUse(definitions, always=always, layouts=tuple(layouts))


def load_in_use(path: Path, definitions: DefinitionSet) -> InUse:
    """The in-use file, checked (InvalidInput names what is wrong)."""
    return decode_in_use(load_yaml_file(path, "in-use file"), definitions, str(path))


class InUseFile:
    """Follows an in-use file: :meth:`poll` returns a new set when the file changed and is
    valid; a file made invalid is reported once and the set in force is kept."""

    def __init__(self, path: Path, definitions: DefinitionSet) -> None:
        self.path = path
        self._definitions = definitions
        self._seen: tuple[int, int] | None = None
        self.errors = 0

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def load(self) -> InUse:
        """Read it now (at start: an invalid file is an error for the caller)."""
        self._seen = self._stamp()
        return load_in_use(self.path, self._definitions)

    def poll(self) -> InUse | None:
        stamp = self._stamp()
        if stamp == self._seen:
            return None
        self._seen = stamp
        try:
            return load_in_use(self.path, self._definitions)
        except InvalidInput as exc:
            self.errors += 1
            log.error("collector: %s; keeping the statistics in use as they were", exc.message)
            return None
