# C types for wallboard/stats/tallies.py when compiled (see wallboard.stats.compiled): the
# accumulators become extension types with C integer fields, their per-fact methods C methods.

cimport cython

from wallboard.stats.windows cimport FixedWindows

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object)

cdef long long* _cells(object data) except NULL
cdef dict _joined(dict later, member, long long t)
cdef dict _without(dict later, member)

# The number of agent statuses (``STATUS_INDEX``), as a C integer.
cdef Py_ssize_t STATUS_COUNT
# Constants of the per-fact code, as C integers (aliases of the public names).
cdef long long _FIXED, _SESSION
cdef Py_ssize_t _ACTION_WIDTH, _MAX, _MIN, _NOT_READY


# (``no_gc`` here too, so that the engine's subclasses of Tally, compiled apart, know it.)
@cython.no_gc
cdef class Tally:
    # ``cells`` points to ``local`` (``_INLINE`` cells at most) or into ``data``'s buffer (the
    # fields a fact reads first, then the cells: a subscription's own fields follow them).
    cdef long long* cells
    cdef public long long mode, width, step_ms, slots, refs
    cdef readonly object data
    cdef long long local[8]

    @cython.locals(cells=cython.p_longlong, index=Py_ssize_t)
    cdef _hold(self, list values)
    cdef _like(self, Tally other)
    @cython.locals(cells=cython.p_longlong, index=Py_ssize_t)
    cpdef list values(self)

    @cython.locals(cells=cython.p_longlong, index=Py_ssize_t)
    cpdef clear(self, Py_ssize_t at)

    @cython.locals(
        cells=cython.p_longlong, start=cython.longlong, current=cython.longlong,
        bucket=cython.longlong, stride=Py_ssize_t, base=Py_ssize_t,
    )
    cpdef Py_ssize_t cell_at(
        self, long long t, FixedWindows windows, long long done, long long grace
    ) except? -2
    @cython.locals(
        cells=cython.p_longlong, stride=Py_ssize_t, slot=Py_ssize_t, base=Py_ssize_t,
        kept=cython.longlong,
    )
    cdef Py_ssize_t _closed_cell(self, long long start) except? -2
    @cython.locals(cells=cython.p_longlong, stride=Py_ssize_t, index=Py_ssize_t)
    cdef _move_back(self, Py_ssize_t slot)


cdef class StatusTally:
    cdef public long long mode, key, closed, started, done, dur, max, min, refs
    cdef public dict open

    @cython.locals(start=cython.longlong)
    cpdef roll(self, long long t, FixedWindows windows)
    cpdef enter(self, member, long long t, FixedWindows windows)
    @cython.locals(length=cython.longlong)
    cpdef exit(self, member, long long t, FixedWindows windows)


cdef class SlidingStatusTally:
    cdef public long long step_ms, slots, refs, mode
    cdef public list data
    cdef public dict open

    @cython.locals(base=Py_ssize_t, current=cython.longlong, data=list)
    cpdef Py_ssize_t _cell(self, long long step) except? -2
    @cython.locals(at=Py_ssize_t)
    cpdef enter(self, member, long long t, FixedWindows windows)
    @cython.locals(
        at=Py_ssize_t, step=cython.longlong, first=cython.longlong, last=cython.longlong,
        bucket=cython.longlong, length=cython.longlong, data=list,
    )
    cpdef exit(self, member, long long t, FixedWindows windows)


cdef class StatusTimes:
    cdef public long long mode, key, refs
    cdef long long* cells
    cdef public dict later
    cdef public object reasons
    cdef readonly object data
    # ``cells`` points here (``STATUS_COUNT`` cells).
    cdef long long local[8]

    @cython.locals(cells=cython.p_longlong, index=Py_ssize_t)
    cdef _hold(self, list values)

    @cython.locals(
        key=cython.longlong, start=cython.longlong, later=dict, spent=cython.longlong, reasons=dict
    )
    cpdef change(
        self, member, Py_ssize_t index, old_reason, long long since, long long t,
        FixedWindows windows,
    )
    @cython.locals(cells=cython.p_longlong, index=Py_ssize_t)
    cdef _clear(self)


cdef class SlidingStatusTimes:
    cdef public long long step_ms, slots, refs, mode, key
    cdef public tuple mask
    cdef readonly long long bits
    cdef public list buckets, totals
    cdef public dict later
    cdef public object reasons

    @cython.locals(slot=Py_ssize_t, current=cython.longlong)
    cpdef Py_ssize_t _slot(self, long long bucket) except? -2
    @cython.locals(
        later=dict, step=cython.longlong, last=cython.longlong, bucket=cython.longlong,
        slot=Py_ssize_t, spent=cython.longlong, slots=cython.longlong, buckets=list, totals=list,
        reasons=dict,
    )
    cpdef change(
        self, member, old, old_reason, long long since, long long t, FixedWindows windows
    )
