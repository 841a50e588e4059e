# C types for wallboard/stats/windows.py when compiled (see wallboard.stats.compiled).

cdef class FixedWindows:
    cdef public object lo, hi

cdef class Forever(FixedWindows):
    pass

cdef class DayPartition(FixedWindows):
    cdef public object zone, anchor_min, step_min, _days
