"""The two Cython class decorators the engine uses, for running it as Python where Cython is not
installed (``wallboard.stats.compiled``). As Python they change nothing; compiled, Cython reads
them from its own ``cython`` module: ``cclass`` makes the class an extension type (it is one
already, by its ``.pxd``) and ``no_gc`` keeps its instances out of the cyclic garbage
collector, which is sound because the engine's state and accumulators never refer back to
what holds them, so they can form no reference cycle.
"""

from typing import TypeVar

_Class = TypeVar("_Class", bound=type)


def cclass(cls: _Class) -> _Class:
    return cls


def no_gc(cls: _Class) -> _Class:
    return cls
