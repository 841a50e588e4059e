"""What the engine uses of Cython's ``cython`` module, for running it as Python where Cython is
not installed (``wallboard.stats.compiled``): ``compiled`` (False here), ``cast``, ``address``
and two C type names for code under ``if cython.compiled:``, and two class decorators. As
Python the decorators change nothing; compiled, Cython reads them from its own ``cython``
module: ``cclass`` makes the class an extension type (it is one already, by its ``.pxd``) and
``no_gc`` keeps its instances out of the cyclic garbage collector, which is sound because the
engine's state and accumulators never refer back to what holds them, so they can form no
reference cycle.
"""

from typing import Any, Final, TypeVar

_Class = TypeVar("_Class", bound=type)

compiled: Final = False
"""As Python: code under ``if cython.compiled:`` does not run."""

Py_ssize_t = int
p_longlong = int  # only named under ``if cython.compiled:``


def cast(kind: object, value: Any) -> Any:
    return value


def address(value: Any) -> Any:
    return value


def cclass(cls: _Class) -> _Class:
    return cls


def no_gc(cls: _Class) -> _Class:
    return cls
