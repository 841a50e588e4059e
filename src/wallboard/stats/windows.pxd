# C types for wallboard/stats/windows.py when compiled (see wallboard.stats.compiled).

cdef class FixedWindows:
    cdef public long long lo, hi

    cpdef tuple bounds(self, long long ts)
    cpdef long long start(self, long long ts) except? -1

cdef class Forever(FixedWindows):
    pass

cdef class DayPartition(FixedWindows):
    cdef public object zone, anchor_min, step_min, _days
