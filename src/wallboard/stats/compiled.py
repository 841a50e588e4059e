"""Which statistics-engine modules run compiled, and whether one is older than its source.

The hot modules (those with a ``.pxd`` beside them: the engine, the contact-center state, the
accumulators and the windows) are compiled by Cython (``make compile``) from their Python
source; the ``.pxd`` only adds C types. Without the compiled files the same code runs as
Python. A compiled module older than its ``.py`` or ``.pxd`` would run old code, so importing
:mod:`wallboard.stats` warns of it.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

_HERE = Path(__file__).parent


def compilable(directory: Path = _HERE) -> list[str]:
    """Modules meant to be compiled: those with a ``.pxd``."""
    return sorted(p.stem for p in directory.glob("*.pxd") if p.with_suffix(".py").exists())


def compiled_file(name: str, directory: Path = _HERE) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def stale(directory: Path = _HERE) -> list[str]:
    """Compiled modules older than their ``.py`` or ``.pxd`` (rebuild with ``make compile``)."""
    found = []
    for name in compilable(directory):
        built = compiled_file(name, directory)
        if built is None:
            continue
        newest = max((directory / f"{name}{ext}").stat().st_mtime for ext in (".py", ".pxd"))
        if built.stat().st_mtime < newest:
            found.append(name)
    return found


def status(directory: Path = _HERE) -> dict[str, bool]:
    """Each compilable module → whether it is compiled."""
    return {name: compiled_file(name, directory) is not None for name in compilable(directory)}
