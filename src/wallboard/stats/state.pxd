# C types for wallboard/stats/state.py when compiled (see wallboard.stats.compiled): the
# contact-center state objects become extension types (C attribute access from the engine).

cdef class ContactState


cdef class MediaState:
    cdef public object base, reason, status, status_reason
    cdef public long long since
    cdef public dict contacts
    cdef public object route
    cdef public tuple own
    cdef public dict own_statuses
    cdef public tuple own_actions
    cdef public ContactState wrap
    cdef public long long wrap_at


cdef class AgentState:
    cdef public bint logged_in, dnd
    cdef public long long login_ts, dnd_since, marked
    cdef public dict media, capacity, media_queues
    cdef public tuple queues
    cdef public object node, routes, id
    cdef public MediaState voice


cdef class Leg:
    cdef public object status
    cdef public long long rang, answered, hold_since


cdef class QueueContents:
    cdef public dict waiting, in_progress


cdef class ContactState:
    cdef public object media, direction, queue, queue_type, answered_from, answered_type, skill
    cdef public object cause
    cdef public dict data, legs
    cdef public long long entered, answered_entered, answered_at, reported
    cdef public long long first_entered, first_answered, transferred_at
    cdef public QueueContents waiting_in, answered_in
    cdef public object id
    cdef public object waiting_routes, answered_routes


cdef class TenantState:
    cdef public dict agents, calls, interactions, queues, vq_entries
