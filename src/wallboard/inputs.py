"""Files a user names on the command line (definitions, objects, scenarios, profiles): read with
a size limit, decoded as UTF-8, YAML parsed safely and bounded; every failure an InvalidInput
that names the file and what is wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import yaml

from wallboard.core.errors import InvalidInput

MAX_FILE_BYTES: Final = 16 * 1024 * 1024
"""Largest definitions, objects, scenario or profile file read: far above any real one (the
bank's year of 5-minute call counts is 0.7 MB), and a device or a wrong file fails at once."""

MAX_YAML_NODES: Final = 1_000_000
"""Most YAML nodes a document may expand to, aliases counted each time they are used: a few
lines of nested aliases ("billion laughs") would otherwise expand beyond any memory."""

MAX_YAML_DEPTH: Final = 100
"""Deepest nesting of ``[``/``{`` collections: PyYAML's scanner takes quadratic time in it (a
file of 16 MiB of ``[`` would take hours), and no real document nests that deep."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing flow collections nested deeper than MAX_YAML_DEPTH."""

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_YAML_DEPTH:
            raise yaml.YAMLError(f"collections nested deeper than {MAX_YAML_DEPTH}")
        super().fetch_flow_collection_start(TokenClass)


def read_bytes(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's content, at most ``limit`` bytes; read in one bounded call, so a device
    (``/dev/zero``) or a growing file cannot fill the memory."""
    try:
        with path.open("rb") as handle:
            # A regular file's size is known; a device or a pipe is read up to the limit.
            size = os.fstat(handle.fileno()).st_size
            data = b"" if size > limit else handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror}", file=str(path)) from None
    if size > limit or len(data) > limit:
        raise InvalidInput(
            f"{what} {path} is larger than the limit of {limit // (1024 * 1024)} MiB",
            file=str(path),
        )
    return data


def bounded_lines(path: Path, limit: int) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of a file (newline kept), read one at a time; a line longer than
    ``limit`` bytes is cut there and the rest of it skipped unread, so a file without newlines
    cannot fill the memory. A cut line is the only one longer than ``limit`` without a
    newline at its end."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(limit + 1):
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                while (rest := handle.readline(limit)) and not rest.endswith(b"\n"):
                    pass
            yield number, raw


def read_text(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The file as UTF-8 text, at most ``limit`` bytes."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{what} {path} is not UTF-8 text (byte {exc.start})", file=str(path)
        ) from None


def _expanded_size(node: yaml.Node, what: str) -> None:
    """Count the nodes the document expands to (an alias counts its whole target again)."""
    count = 0
    stack: list[yaml.Node] = [node]
    while stack:
        current = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise InvalidInput(
                f"{what}: the document expands to more than {MAX_YAML_NODES:,} values "
                "(nested aliases?)"
            )
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append(key)
                stack.append(value)


def load_yaml(text: str, what: str) -> Any:
    """Parse YAML (or JSON) text with the safe loader: no Python tags, a bounded expansion, no
    RecursionError for deep nesting."""
    try:
        loader = _BoundedLoader(text)  # checks the characters already
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _expanded_size(node, what)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{what}: not valid YAML: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{what}: the document is nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4300)
        raise InvalidInput(f"{what}: {exc}") from None


def load_yaml_file(path: Path, what: str) -> Any:
    """Read and parse a YAML (or JSON) file; errors name ``what`` and the file."""
    return load_yaml(read_text(path, what), f"{what} {path}")
