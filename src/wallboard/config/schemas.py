"""What a configuration object is: its type, name, display name, folder and the attributes of
its type (the shared contract of docs/configuration.md), validated the same way whether it
comes from the REST API, a YAML or CSV import, or a scenario's export.

Attributes are stored in ``config_objects.attributes`` exactly as :func:`attributes_document`
writes them (every field, snake_case), so the permissions service and the collector read them
without this package's help.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from wallboard.config.skills import parse_skill_expression
from wallboard.core.errors import InvalidInput
from wallboard.db.models import CONFIG_TYPES, NAME_MAX
from wallboard.web.errors import FieldError, Loc
from wallboard.web.schemas import ApiModel, Name


class ConfigType(enum.StrEnum):
    """The kinds of configuration objects (``config_objects.type``)."""

    AGENT = "agent"
    AGENT_GROUP = "agent_group"
    QUEUE = "queue"
    QUEUE_GROUP = "queue_group"
    ROUTING_POINT = "routing_point"
    VIRTUAL_QUEUE = "virtual_queue"
    SKILL = "skill"
    ACCESS_GROUP = "access_group"
    FOLDER = "folder"


assert {t.value for t in ConfigType} == set(CONFIG_TYPES), "ConfigType and the table disagree"


def _object_name(value: str) -> str:
    # The name is the id events and widgets use: kept exactly, so no silent stripping; control
    # characters (the store's key separator among them) and lone surrogates are refused.
    if value != value.strip():
        raise ValueError("must not begin or end with white space")
    for char in value:
        if ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"contains the control character U+{ord(char):04X}")
    return value


ObjectName = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_MAX), AfterValidator(_object_name)
]
"""An object's id: 1 to 200 characters, no control characters, no outer white space."""

SkillLevel = Annotated[int, Field(ge=0, le=10)]
MAX_MEMBERS = 100_000


class Attributes(BaseModel):
    """Base of every type's attributes: snake_case as in the contract, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAttributes(Attributes):
    """Routing points, virtual queues and skills have no attributes yet."""


class AgentAttributes(Attributes):
    login_ids: Annotated[list[ObjectName], Field(max_length=100)] = []
    dns: Annotated[list[ObjectName], Field(max_length=100)] = []
    skills: Annotated[dict[ObjectName, SkillLevel], Field(max_length=1000)] = {}


class AgentGroupAttributes(Attributes):
    agents: Annotated[list[ObjectName], Field(max_length=MAX_MEMBERS)] = []
    groups: Annotated[list[ObjectName], Field(max_length=1000)] = []
    skill_expression: Annotated[str, StringConstraints(max_length=1000)] | None = None

    @field_validator("skill_expression")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_skill_expression(value)
        except InvalidInput as exc:
            raise ValueError(f"not a skill expression: {exc.message}") from None
        return value


class QueueAttributes(Attributes):
    agents: Annotated[list[ObjectName], Field(max_length=MAX_MEMBERS)] = []
    skill: ObjectName | None = None
    threshold_s: Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)] | None = None


class QueueGroupAttributes(Attributes):
    queues: Annotated[list[ObjectName], Field(max_length=MAX_MEMBERS)] = []
    routing_points: Annotated[list[ObjectName], Field(max_length=MAX_MEMBERS)] = []
    groups: Annotated[list[ObjectName], Field(max_length=1000)] = []


class ObjectRef(Attributes):
    type: ConfigType
    name: ObjectName


class AccessGroupAttributes(Attributes):
    members: Annotated[list[ObjectName], Field(max_length=MAX_MEMBERS)] = []
    folders: Annotated[list[ObjectName], Field(max_length=10_000)] = []
    objects: Annotated[list[ObjectRef], Field(max_length=MAX_MEMBERS)] = []
    all_objects: bool = False


class FolderAttributes(Attributes):
    parent: ObjectName | None = None


ATTRIBUTES: dict[ConfigType, type[Attributes]] = {
    ConfigType.AGENT: AgentAttributes,
    ConfigType.AGENT_GROUP: AgentGroupAttributes,
    ConfigType.QUEUE: QueueAttributes,
    ConfigType.QUEUE_GROUP: QueueGroupAttributes,
    ConfigType.ROUTING_POINT: NoAttributes,
    ConfigType.VIRTUAL_QUEUE: NoAttributes,
    ConfigType.SKILL: NoAttributes,
    ConfigType.ACCESS_GROUP: AccessGroupAttributes,
    ConfigType.FOLDER: FolderAttributes,
}
"""Each type's attributes model."""


class ObjectData(BaseModel):
    """A validated object as the service handles it (internal; snake_case)."""

    model_config = ConfigDict(frozen=True)

    type: ConfigType
    name: str
    display_name: str
    folder: str | None
    attributes: Attributes

    @property
    def key(self) -> tuple[str, str]:
        return (self.type.value, self.name)


def attributes_document(attributes: Attributes) -> dict[str, Any]:
    """The attributes as stored and exported: every field, JSON types."""
    return attributes.model_dump(mode="json")


def _first_error(exc: ValidationError, loc: Loc) -> FieldError:
    error = exc.errors()[0]
    where = (*loc, *(part for part in error.get("loc", ())))
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return FieldError(where, message)


def check_attributes(kind: ConfigType, raw: Any, loc: Loc) -> Attributes:
    """``raw`` as the attributes of ``kind``; FieldError names the first wrong field."""
    model = ATTRIBUTES[kind]
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise FieldError(loc, "must be an object of the type's attributes")
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise _first_error(exc, loc) from None


class ObjectFields(ApiModel):
    """The fields of an object a client writes (create, or an import's object)."""

    type: ConfigType
    name: ObjectName
    display_name: Name | None = Field(
        default=None, description="What people read; the name when absent."
    )
    folder: ObjectName | None = Field(
        default=None, description="The folder it is filed in; absent: the tenant's root."
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="The type's attributes (docs/configuration.md)."
    )


ObjectCreate = ObjectFields


class ObjectUpdate(ApiModel):
    """A change: only the fields given change; ``attributes`` given replaces all of them."""

    display_name: Name | None = None
    folder: ObjectName | None = None
    attributes: dict[str, Any] | None = None
    version: int | None = Field(
        default=None, description="The version the change is based on (like If-Match)."
    )


def check_object(raw: Any, loc: Loc) -> ObjectData:
    """``raw`` (a mapping with camelCase or snake_case keys) as a validated object;
    FieldError names the first wrong field under ``loc``."""
    if not isinstance(raw, Mapping):
        raise FieldError(loc, "must be an object with type, name and attributes")
    try:
        fields = ObjectFields.model_validate(dict(raw))
    except ValidationError as exc:
        raise _first_error(exc, loc) from None
    return ObjectData(
        type=fields.type,
        name=fields.name,
        display_name=fields.display_name or fields.name,
        folder=fields.folder,
        attributes=check_attributes(fields.type, fields.attributes, (*loc, "attributes")),
    )


class ObjectRead(ApiModel):
    """A stored object."""

    type: ConfigType
    name: str
    display_name: str
    folder: str | None
    attributes: dict[str, Any]
    version: int
    change_number: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Deletion(ApiModel):
    type: ConfigType
    name: str
    change_number: int


class ChangeFeed(ApiModel):
    """What changed after ``since``: the objects written (as they are now) and the objects
    deleted, up to ``changeNumber`` (ask again with ``since=changeNumber``)."""

    change_number: int
    objects: list[ObjectRead]
    deletions: list[Deletion]


class ImportResult(ApiModel):
    """What an import did: objects created, replaced and left as they were."""

    created: int
    updated: int
    unchanged: int
    change_number: int | None
