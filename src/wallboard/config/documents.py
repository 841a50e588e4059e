"""Configuration documents: the bulk import and export formats, YAML and CSV.

YAML (or JSON)::

    version: 1
    objects:
      - type: agent
        name: a-1001
        displayName: Ann Smith
        folder: floor-1
        attributes: {login_ids: ["1001"], skills: {sales: 7}}

CSV: a header line, then one object per line. Columns ``type``, ``name``, ``displayName``,
``folder``, then one column per attribute (``login_ids``, ``skills``, ``agents``…, the union of
every type's attributes); a cell left empty takes the attribute's default, a filled cell of an
attribute the type does not have is an error. Lists are separated by ``;``, skills are
``skill=level`` (``sales=7;english=3``), an access group's objects ``type:name``.

Errors name where: ``objects.3.attributes.skills`` (YAML, the object's index from 0) or
``line 4.attributes.skills`` (CSV, the file's line from 1, the header being line 1).
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Sequence
from typing import Any

import yaml

from wallboard.config.schemas import ATTRIBUTES, ObjectData
from wallboard.config.service import document_of
from wallboard.core.errors import InvalidInput
from wallboard.inputs import load_yaml
from wallboard.web.errors import FieldError, Loc

DOCUMENT_VERSION = 1
MAX_OBJECTS = 100_000
"""Most objects one document may hold (a request's body size limit applies first)."""


class DocumentFormat(enum.StrEnum):
    YAML = "yaml"
    CSV = "csv"


BASE_COLUMNS = ("type", "name", "displayName", "folder")
ATTRIBUTE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(field for model in ATTRIBUTES.values() for field in model.model_fields)
)
COLUMNS = (*BASE_COLUMNS, *ATTRIBUTE_COLUMNS)
LIST_SEPARATOR = ";"


def render_yaml(objects: Sequence[ObjectData]) -> str:
    document = {"version": DOCUMENT_VERSION, "objects": [document_of(data) for data in objects]}
    return yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )


def parse_yaml(text: str, loc: Loc = ()) -> list[tuple[Loc, Any]]:
    """The objects of a YAML (or JSON) document, each with its place; InvalidInput when it is
    not a document of objects."""
    try:
        document = load_yaml(text, "the configuration document")
    except InvalidInput as exc:
        raise FieldError(loc or ("document",), exc.message) from None
    if isinstance(document, list):
        objects = document
    elif isinstance(document, dict):
        version = document.get("version", DOCUMENT_VERSION)
        if version != DOCUMENT_VERSION:
            raise FieldError(
                (*loc, "version"), f"version {version!r} is not {DOCUMENT_VERSION}, this code's"
            )
        unknown = sorted(str(key) for key in document if key not in ("version", "objects"))
        if unknown:
            raise FieldError((*loc, unknown[0]), "unknown field (expected version, objects)")
        objects = document.get("objects") or []
    else:
        raise FieldError(loc or ("document",), "expected a mapping with objects, or a list")
    if not isinstance(objects, list):
        raise FieldError((*loc, "objects"), "must be a list of objects")
    if len(objects) > MAX_OBJECTS:
        raise FieldError((*loc, "objects"), f"more than {MAX_OBJECTS} objects")
    return [((*loc, "objects", index), raw) for index, raw in enumerate(objects)]


def _cell(value: Any, loc: Loc) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "true"
    if isinstance(value, list):
        parts = [
            f"{item['type']}:{item['name']}" if isinstance(item, dict) else str(item)
            for item in value
        ]
        for part in parts:
            if LIST_SEPARATOR in part:
                raise FieldError(loc, f"{part!r} contains {LIST_SEPARATOR!r}: export as YAML")
        return LIST_SEPARATOR.join(parts)
    if isinstance(value, dict):
        for key in value:
            if LIST_SEPARATOR in key or "=" in key:
                raise FieldError(loc, f"{key!r} contains ';' or '=': export as YAML")
        return LIST_SEPARATOR.join(f"{key}={level}" for key, level in value.items())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_csv(objects: Sequence[ObjectData]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for index, data in enumerate(objects):
        document = document_of(data)
        attributes = document["attributes"]
        writer.writerow(
            [
                data.type.value,
                data.name,
                data.display_name if data.display_name != data.name else "",
                data.folder or "",
                *(
                    _cell(attributes.get(column), ("objects", index, "attributes", column))
                    for column in ATTRIBUTE_COLUMNS
                ),
            ]
        )
    return out.getvalue()


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def _attribute(kind: str, column: str, cell: str, loc: Loc) -> Any:
    model = ATTRIBUTES.get(kind)  # type: ignore[call-overload]
    field = model.model_fields[column] if model is not None else None
    annotation = str(field.annotation) if field is not None else ""
    if column == "skills":
        skills: dict[str, str] = {}
        for part in _split(cell):
            skill, equals, level = part.partition("=")
            if not equals:
                raise FieldError(loc, f"{part!r} is not skill=level")
            skills[skill.strip()] = level.strip()
        return skills
    if column == "objects":
        refs = []
        for part in _split(cell):
            kind_, colon, name = part.partition(":")
            if not colon:
                raise FieldError(loc, f"{part!r} is not type:name")
            refs.append({"type": kind_.strip(), "name": name.strip()})
        return refs
    if annotation.startswith("list"):
        return _split(cell)
    return cell.strip()


def parse_csv(text: str, loc: Loc = ()) -> list[tuple[Loc, Any]]:
    """The objects of a CSV document, each with its line; FieldError names the line and the
    column at fault."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise FieldError((*loc, "line 1"), f"not CSV: {exc}") from None
    columns = [column.strip() for column in header]
    for column in columns:
        if column not in COLUMNS:
            raise FieldError(
                (*loc, "line 1", column or "(empty)"),
                f"unknown column; the columns are {', '.join(COLUMNS)}",
            )
    for required in ("type", "name"):
        if required not in columns:
            raise FieldError((*loc, "line 1"), f"the column {required!r} is missing")
    objects: list[tuple[Loc, Any]] = []
    try:
        for cells in reader:
            line = reader.line_num
            where = (*loc, f"line {line}")
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                raise FieldError(
                    where, f"{len(cells)} cells where the header has {len(columns)} columns"
                )
            values = dict(zip(columns, cells, strict=True))
            kind = values["type"].strip()
            raw: dict[str, Any] = {"type": kind, "name": values["name"]}
            if values.get("displayName", "").strip():
                raw["displayName"] = values["displayName"]
            if values.get("folder", "").strip():
                raw["folder"] = values["folder"].strip()
            attributes: dict[str, Any] = {}
            model = ATTRIBUTES.get(kind)  # type: ignore[call-overload]
            for column in ATTRIBUTE_COLUMNS:
                cell = values.get(column, "")
                if not cell.strip():
                    continue
                if model is not None and column not in model.model_fields:
                    raise FieldError(
                        (*where, "attributes", column), f"a {kind} has no attribute {column!r}"
                    )
                attributes[column] = _attribute(kind, column, cell, (*where, "attributes", column))
            raw["attributes"] = attributes
            objects.append((where, raw))
            if len(objects) > MAX_OBJECTS:
                raise FieldError(where, f"more than {MAX_OBJECTS} objects")
    except csv.Error as exc:
        raise FieldError((*loc, f"line {reader.line_num}"), f"not CSV: {exc}") from None
    return objects


def parse_document(text: str, format: DocumentFormat, loc: Loc = ()) -> list[tuple[Loc, Any]]:
    if format is DocumentFormat.CSV:
        return parse_csv(text, loc)
    return parse_yaml(text, loc)


def render_document(objects: Sequence[ObjectData], format: DocumentFormat) -> str:
    if format is DocumentFormat.CSV:
        return render_csv(objects)
    return render_yaml(objects)
