"""The rules of configuration objects over the metadata database: validation, references,
optimistic concurrency, change numbers, deletions kept for the change feed, and who may read
and write.

The service only ``flush``es: the caller commits (``CommitRoute`` in the API, the CLI's own
transaction), so an import or a request lands whole or not at all. Every write takes its
number from the tenant's counter (``next_change_number``), the one dashboards and templates
use; a deleted object leaves a ``config_deletions`` row with the number of its deletion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallboard.config.references import Key, check_references, referrers
from wallboard.config.schemas import (
    ChangeFeed,
    ConfigType,
    Deletion,
    ImportResult,
    ObjectData,
    ObjectRead,
    ObjectUpdate,
    attributes_document,
    check_attributes,
    check_object,
)
from wallboard.core.errors import Conflict, NotFound, PermissionDenied
from wallboard.core.ids import TenantId
from wallboard.db.database import SQLITE_BEGIN_OPTION, Database
from wallboard.db.models import ConfigDeletion, ConfigObject, Tenant
from wallboard.web.changes import (
    current_change_number,
    forget_change_numbers,
    next_change_number,
)
from wallboard.web.deps import check_preconditions
from wallboard.web.errors import FieldError, Loc
from wallboard.web.pagination import ListParams, fetch_page, order_by
from wallboard.web.policy import AccessPolicy, Privilege, Subject, WriteAction
from wallboard.web.schemas import Pagination

WRITE_KIND = "config"
"""The ``kind`` the policy's ``check_write`` is asked about (uid: ``type/name``); the secured
policy asks the manage-configuration privilege of it."""

WIDGET_TYPES = frozenset(
    {
        ConfigType.AGENT,
        ConfigType.AGENT_GROUP,
        ConfigType.QUEUE,
        ConfigType.QUEUE_GROUP,
        ConfigType.ROUTING_POINT,
        ConfigType.VIRTUAL_QUEUE,
    }
)
"""Types a widget shows: what a subject without manage-configuration may read, when visible."""

TYPE_ORDER: tuple[ConfigType, ...] = (
    ConfigType.FOLDER,
    ConfigType.SKILL,
    ConfigType.AGENT,
    ConfigType.AGENT_GROUP,
    ConfigType.QUEUE,
    ConfigType.ROUTING_POINT,
    ConfigType.VIRTUAL_QUEUE,
    ConfigType.QUEUE_GROUP,
    ConfigType.ACCESS_GROUP,
)
"""Exports list types in this order: what an object names comes before it, for readers."""


def data_of(row: ConfigObject) -> ObjectData:
    kind = ConfigType(row.type)
    return ObjectData(
        type=kind,
        name=row.name,
        display_name=row.display_name,
        folder=row.folder,
        attributes=check_attributes(kind, row.attributes, ("attributes",)),
    )


def to_read(row: ConfigObject) -> ObjectRead:
    return ObjectRead(
        type=ConfigType(row.type),
        name=row.name,
        display_name=row.display_name,
        folder=row.folder,
        attributes=dict(row.attributes),
        version=row.version,
        change_number=row.change_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def document_of(data: ObjectData) -> dict[str, Any]:
    """An object as exported and imported (camelCase like the API, attributes as stored)."""
    document: dict[str, Any] = {"type": data.type.value, "name": data.name}
    if data.display_name != data.name:
        document["displayName"] = data.display_name
    if data.folder is not None:
        document["folder"] = data.folder
    # Only what differs from the defaults: a document people read and write (the import
    # fills the defaults in again).
    document["attributes"] = data.attributes.model_dump(mode="json", exclude_defaults=True)
    return document


def export_order(objects: Iterable[ObjectData]) -> list[ObjectData]:
    rank = {kind: index for index, kind in enumerate(TYPE_ORDER)}
    return sorted(objects, key=lambda data: (rank[data.type], data.name))


async def load_tenant_objects(session: AsyncSession, tenant: str) -> list[ObjectData]:
    """Every object of ``tenant`` (for the engine's configuration and exports)."""
    rows = await session.scalars(
        sa.select(ConfigObject).where(ConfigObject.tenant_id == tenant).order_by(ConfigObject.id)
    )
    return [data_of(row) for row in rows.all()]


class ConfigService:
    """One tenant's configuration in one transaction, for ``subject`` (None: a trusted caller,
    the CLI or the demo, which may do everything)."""

    def __init__(
        self,
        session: AsyncSession,
        tenant: TenantId,
        *,
        policy: AccessPolicy | None = None,
        subject: Subject | None = None,
    ) -> None:
        self.session = session
        self.tenant = tenant
        self._policy = policy
        self._subject = subject

    # --- who may ---------------------------------------------------------------------------

    @property
    def manages(self) -> bool:
        """Whether the subject may read and change every object of the configuration."""
        return self._subject is None or self._subject.may(Privilege.MANAGE_CONFIGURATION)

    def check_may_change(self) -> None:
        """PermissionDenied unless the subject may change the configuration at all: checked
        before a document is looked at, so that an import by someone who may not is refused
        even when it names no object."""
        if self._subject is not None and not self._subject.may(Privilege.MANAGE_CONFIGURATION):
            raise PermissionDenied(
                f"changing the configuration needs the {Privilege.MANAGE_CONFIGURATION} privilege"
            )

    def check_write(self, key: Key, action: WriteAction = WriteAction.CHANGE) -> None:
        """PermissionDenied unless the subject may change the configuration object ``key``."""
        if self._subject is None:
            return
        self.check_may_change()
        if self._policy is not None:
            self._policy.check_write(
                self._subject, self.tenant, WRITE_KIND, f"{key[0]}/{key[1]}", action=action
            )

    def _readable(self, keys: Sequence[Key]) -> list[Key]:
        if self.manages:
            return list(keys)
        assert self._subject is not None
        assert self._policy is not None
        shown = [key for key in keys if key[0] in WIDGET_TYPES]
        return self._policy.readable_objects(self._subject, self.tenant, shown)

    # --- reads -----------------------------------------------------------------------------

    def _rows(self) -> sa.Select[Any]:
        return sa.select(ConfigObject).where(ConfigObject.tenant_id == self.tenant)

    async def _row(self, kind: ConfigType, name: str) -> ConfigObject | None:
        row: ConfigObject | None = await self.session.scalar(
            self._rows().where(ConfigObject.type == kind.value, ConfigObject.name == name)
        )
        return row

    async def get(self, kind: ConfigType, name: str) -> ConfigObject:
        """The object, or NotFound (also when the subject may not see it)."""
        row = await self._row(kind, name)
        if row is None or not self._readable([(row.type, row.name)]):
            raise NotFound(
                f"{kind.value} {name[:200]!r} does not exist in tenant {self.tenant!r}",
                type=kind.value,
                name=name[:200],
            )
        return row

    async def page(
        self, params: ListParams, kinds: frozenset[ConfigType] | None, text: str = ""
    ) -> tuple[Sequence[ConfigObject], Pagination]:
        """One page of the objects of ``kinds`` (all when None) whose name or display name
        contains ``text`` (any case)."""
        columns = {
            "name": ConfigObject.name,
            "type": ConfigObject.type,
            "displayName": ConfigObject.display_name,
            "updatedAt": ConfigObject.updated_at,
            "changeNumber": ConfigObject.change_number,
        }
        statement = self._rows()
        if kinds is not None:
            statement = statement.where(ConfigObject.type.in_([k.value for k in kinds]))
        if text:
            pattern = (
                "%"
                + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%"
            )
            statement = statement.where(
                sa.or_(
                    sa.func.lower(ConfigObject.name).like(pattern, escape="\\"),
                    sa.func.lower(ConfigObject.display_name).like(pattern, escape="\\"),
                )
            )
        statement = statement.order_by(*order_by(params.sorting, columns, ConfigObject.id))
        if self.manages:
            return await fetch_page(self.session, statement, params)
        rows = (await self.session.scalars(statement)).all()
        visible = set(self._readable([(row.type, row.name) for row in rows]))
        shown = [row for row in rows if (row.type, row.name) in visible]
        start = (params.page - 1) * params.limit
        total = len(shown)
        return shown[start : start + params.limit], Pagination(
            total_count=total, max_page=max(1, -(-total // params.limit))
        )

    async def state(self) -> dict[Key, ObjectData]:
        """The tenant's whole configuration (for the rules that span objects)."""
        return {data.key: data for data in await load_tenant_objects(self.session, self.tenant)}

    async def export(self) -> list[ObjectData]:
        """Every object the subject may read, in export order."""
        objects = await load_tenant_objects(self.session, self.tenant)
        readable = set(self._readable([data.key for data in objects]))
        return export_order(data for data in objects if data.key in readable)

    async def changes(self, since: int) -> ChangeFeed:
        """What changed after ``since``, up to the tenant's change number now. The number is
        read first: a write that commits later with a smaller number cannot exist (writers of
        a tenant hold its counter's lock to their commit, see ``web/changes.py``)."""
        number = await current_change_number(self.session, self.tenant)
        rows = (
            await self.session.scalars(
                self._rows()
                .where(ConfigObject.change_number > since, ConfigObject.change_number <= number)
                .order_by(ConfigObject.change_number, ConfigObject.id)
            )
        ).all()
        readable = set(self._readable([(row.type, row.name) for row in rows]))
        deleted = (
            await self.session.scalars(
                sa.select(ConfigDeletion)
                .where(
                    ConfigDeletion.tenant_id == self.tenant,
                    ConfigDeletion.change_number > since,
                    ConfigDeletion.change_number <= number,
                )
                .order_by(ConfigDeletion.change_number, ConfigDeletion.id)
            )
        ).all()
        # A deletion is news only if the object is still gone (else its row above is newer);
        # names of objects the subject may not see are never sent.
        existing: set[tuple[str, str]] = set()
        if deleted:
            names = {d.name for d in deleted}
            existing = {
                (kind, name)
                for kind, name in (
                    await self.session.execute(
                        sa.select(ConfigObject.type, ConfigObject.name).where(
                            ConfigObject.tenant_id == self.tenant, ConfigObject.name.in_(names)
                        )
                    )
                ).all()
            }
        gone = [d for d in deleted if (d.type, d.name) not in existing]
        shown_gone = set(self._readable([(d.type, d.name) for d in gone]))
        return ChangeFeed(
            change_number=number,
            objects=[to_read(row) for row in rows if (row.type, row.name) in readable],
            deletions=[
                Deletion(type=ConfigType(d.type), name=d.name, change_number=d.change_number)
                for d in gone
                if (d.type, d.name) in shown_gone
            ],
        )

    # --- writes ----------------------------------------------------------------------------

    async def _number(self) -> int:
        return await next_change_number(self.session, self.tenant)

    async def _flush(self, key: Key) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict(
                f"{key[0]} {key[1]!r} exists already", type=key[0], name=key[1]
            ) from None

    async def create(self, raw: Any, loc: Loc = ("body",)) -> ConfigObject:
        data = check_object(raw, loc)
        self.check_write(data.key, WriteAction.CREATE)
        state = await self.state()
        if data.key in state:
            raise Conflict(
                f"{data.type.value} {data.name!r} exists already in tenant {self.tenant!r}",
                type=data.type.value,
                name=data.name,
            )
        state[data.key] = data
        check_references(state, [data], lambda _: loc)
        row = self._new_row(data, await self._number())
        self.session.add(row)
        await self._flush(data.key)
        return row

    def _new_row(self, data: ObjectData, number: int) -> ConfigObject:
        return ConfigObject(
            tenant_id=self.tenant,
            type=data.type.value,
            name=data.name,
            display_name=data.display_name,
            folder=data.folder,
            attributes=attributes_document(data.attributes),
            version=1,
            change_number=number,
        )

    async def _change(self, row: ConfigObject, data: ObjectData, number: int) -> None:
        row.display_name = data.display_name
        row.folder = data.folder
        row.attributes = attributes_document(data.attributes)
        row.version += 1
        row.change_number = number

    async def update(
        self, kind: ConfigType, name: str, change: ObjectUpdate, *, if_match: str | None
    ) -> ConfigObject:
        self.check_write((kind.value, name))
        row = await self.get(kind, name)
        check_preconditions(
            row_id=row.id, version=row.version, if_match=if_match, body_version=change.version
        )
        current = data_of(row)
        given = change.model_fields_set
        data = ObjectData(
            type=kind,
            name=name,
            display_name=change.display_name
            if change.display_name is not None
            else current.display_name,
            folder=change.folder if "folder" in given else current.folder,
            attributes=check_attributes(kind, change.attributes, ("body", "attributes"))
            if change.attributes is not None
            else current.attributes,
        )
        if data == current:
            return row
        state = await self.state()
        state[data.key] = data
        check_references(state, [data], lambda _: ("body",))
        await self._change(row, data, await self._number())
        await self._flush(data.key)
        return row

    async def delete(self, kind: ConfigType, name: str, *, if_match: str | None) -> None:
        self.check_write((kind.value, name), WriteAction.DELETE)
        row = await self.get(kind, name)
        check_preconditions(row_id=row.id, version=row.version, if_match=if_match)
        using = referrers(await self.state(), (kind.value, name))
        if using:
            named = ", ".join(f"{k} {n!r}" for k, n in using[:10])
            raise Conflict(
                f"{kind.value} {name!r} is named by {named}; change those first",
                referrers=[f"{k}/{n}" for k, n in using[:10]],
            )
        number = await self._number()
        self.session.add(
            ConfigDeletion(
                tenant_id=self.tenant, type=row.type, name=row.name, change_number=number
            )
        )
        await self.session.delete(row)
        await self.session.flush()

    async def import_(self, objects: Sequence[tuple[Loc, Any]]) -> ImportResult:
        """Create or replace every object of a document, all or nothing: the first wrong
        field (``loc`` of its object, then the field) fails the whole import before anything
        is written. Objects of the tenant the document does not name are left as they are."""
        self.check_may_change()
        checked: list[tuple[Loc, ObjectData]] = []
        where: dict[Key, Loc] = {}
        for loc, raw in objects:
            data = check_object(raw, loc)
            if data.key in where:
                first = ".".join(str(part) for part in where[data.key])
                raise FieldError(
                    (*loc, "name"),
                    f"{data.type.value} {data.name!r} appears twice (first at {first})",
                )
            where[data.key] = loc
            self.check_write(data.key)
            checked.append((loc, data))
        state = await self.state()
        before = dict(state)
        for _, data in checked:
            state[data.key] = data
        check_references(state, [data for _, data in checked], lambda key: where[key])
        changing = [data for _, data in checked if before.get(data.key) != data]
        created = sum(1 for data in changing if data.key not in before)
        number = await self._number() if changing else None
        if changing:
            assert number is not None
            rows = {
                (row.type, row.name): row
                for row in (await self.session.scalars(self._rows())).all()
            }
            for data in changing:
                row = rows.get(data.key)
                if row is None:
                    self.session.add(self._new_row(data, number))
                else:
                    await self._change(row, data, number)
            await self._flush(changing[0].key)
        return ImportResult(
            created=created,
            updated=len(changing) - created,
            unchanged=len(checked) - len(changing),
            change_number=number,
        )


async def import_objects(
    database: Database, tenant: str, objects: Sequence[tuple[Loc, Any]]
) -> ImportResult:
    """Import a document's objects into ``tenant`` in a transaction of its own, as a trusted
    caller (the CLI, the demo): the tenant's write turn first, like any API write."""
    async with database.sessions() as session:
        await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        if await session.get(Tenant, tenant) is None:
            raise NotFound(
                f"tenant {tenant!r} does not exist (create it with wallboard tenant init)",
                tenant=tenant,
            )
        try:
            await next_change_number(session, TenantId(tenant))
            result = await ConfigService(session, TenantId(tenant)).import_(objects)
            await session.commit()
        finally:
            forget_change_numbers(session)
        return result
