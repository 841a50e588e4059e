# C types for wallboard/stats/engine.py when compiled (see wallboard.stats.compiled): the
# engine's own classes become extension types and its hot internal methods C functions; the
# Python source is the behaviour, unchanged. Attributes are public so that Python code (tests,
# restore) sees them as before; methods reached from outside the class stay Python methods.

cimport cython

from wallboard.stats.state cimport (
    AgentState, ContactState, Leg, MediaState, QueueContents, TenantState,
)
from wallboard.stats.tallies cimport SlidingStatusTimes, StatusTimes, Tally
from wallboard.stats.windows cimport FixedWindows

# The events the handlers read (wallboard.core.events: msgspec Structs). A Struct's fields are
# slots, which CPython lays out after the object header in ``__slots__`` order, the base class's
# first: declared here as C structs, an event's field is read straight from the object instead
# of through its member descriptor. ``_check_event_layouts`` in engine.py checks at import that
# each class's slots are where these structs put them; a test checks these against ``__slots__``.
cdef extern from *:
    """
    #include <structmember.h>
    #ifndef Py_T_OBJECT_EX
    #define Py_T_OBJECT_EX T_OBJECT_EX
    #endif
    /* The offset of a class's slot (an object member descriptor), -1 if the name is none. */
    static Py_ssize_t wb_slot_offset(PyObject *cls, PyObject *name) {
        Py_ssize_t offset = -1;
        PyObject *descr = PyObject_GetAttr(cls, name);
        if (descr == NULL) {
            PyErr_Clear();
            return -1;
        }
        if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if (member->type == Py_T_OBJECT_EX) offset = member->offset;
        }
        Py_DECREF(descr);
        return offset;
    }
    #define WB_FIRST_SLOT ((Py_ssize_t)sizeof(PyObject))
    #define WB_SLOT_SIZE ((Py_ssize_t)sizeof(PyObject *))

    /* a == b where both are usually str (or None): the same object, else for two exact str
       the same length, kind and bytes; anything else as Python compares it. */
    static int wb_same(PyObject *a, PyObject *b) {
        Py_ssize_t length;
        if (a == b) return 1;
        if (PyUnicode_CheckExact(a) && PyUnicode_CheckExact(b)) {
            length = PyUnicode_GET_LENGTH(a);
            if (length != PyUnicode_GET_LENGTH(b) || PyUnicode_KIND(a) != PyUnicode_KIND(b))
                return 0;
            return memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b),
                          (size_t)length * PyUnicode_KIND(a)) == 0;
        }
        return PyObject_RichCompareBool(a, b, Py_EQ);
    }

    typedef struct { PyObject_HEAD PyObject *id, *seq, *source, *tenant, *ts, *v; } wb_Event;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *dn, *media, *queues; } wb_AgentLogin;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *media, *queues; } wb_AgentQueuesChanged;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *media, *reason; } wb_AgentLogout;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *media; } wb_AgentReady;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *media, *reason; } wb_AgentNotReady;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *call, *media; } wb_AgentAfterCallWork;
    typedef struct { wb_Event __pyx_base; PyObject *agent; } wb_AgentDndOn;
    typedef struct { wb_Event __pyx_base; PyObject *agent; } wb_AgentDndOff;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *capacity, *media; } wb_AgentCapacity;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *call, *data, *direction, *point, *queue;
    } wb_CallQueued;
    typedef struct { wb_Event __pyx_base; PyObject *call, *queue, *reason; } wb_CallRefused;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *call, *cause, *queue, *target, *wait_ms;
    } wb_CallDiverted;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *call, *direction, *dn, *queue;
    } wb_CallRinging;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *call, *direction, *dn, *queue, *ring_ms, *wait_ms;
    } wb_CallEstablished;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *call, *dn; } wb_CallHeld;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *call, *dn; } wb_CallRetrieved;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *by, *call, *dn, *queue, *talk_ms;
    } wb_CallReleased;
    typedef struct { wb_Event __pyx_base; PyObject *call, *queue, *wait_ms; } wb_CallAbandoned;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *call, *kind, *target;
    } wb_CallTransferred;
    typedef struct { wb_Event __pyx_base; PyObject *agent, *call, *target; } wb_CallConferenced;
    typedef struct { wb_Event __pyx_base; PyObject *call, *data; } wb_CallDataUpdated;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *call, *interaction, *media, *vq;
    } wb_VirtualQueueEntered;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *call, *interaction, *media, *reason, *target, *vq;
    } wb_VirtualQueueLeft;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *data, *direction, *interaction, *media;
    } wb_InteractionCreated;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *interaction, *media, *queue;
    } wb_InteractionQueued;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media, *queue;
    } wb_InteractionOffered;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media, *queue;
    } wb_InteractionAccepted;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media;
    } wb_InteractionRejected;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media;
    } wb_InteractionRevoked;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media, *target;
    } wb_InteractionTransferred;
    typedef struct {
        wb_Event __pyx_base;
        PyObject *agent, *interaction, *media, *outcome, *queue;
    } wb_InteractionDone;
    """
    Py_ssize_t wb_slot_offset(object cls, object name)
    bint wb_same(object a, object b) except -1
    Py_ssize_t WB_FIRST_SLOT, WB_SLOT_SIZE

    ctypedef class wallboard.core.events.Event [object wb_Event, check_size error]:
        cdef object id, seq, source, tenant, ts, v
    ctypedef class wallboard.core.events.AgentLogin(Event) [object wb_AgentLogin, check_size error]:
        cdef object agent, dn, media, queues
    ctypedef class wallboard.core.events.AgentQueuesChanged(Event) [
        object wb_AgentQueuesChanged, check_size error
    ]:
        cdef object agent, media, queues
    ctypedef class wallboard.core.events.AgentLogout(Event) [
        object wb_AgentLogout, check_size error
    ]:
        cdef object agent, media, reason
    ctypedef class wallboard.core.events.AgentReady(Event) [object wb_AgentReady, check_size error]:
        cdef object agent, media
    ctypedef class wallboard.core.events.AgentNotReady(Event) [
        object wb_AgentNotReady, check_size error
    ]:
        cdef object agent, media, reason
    ctypedef class wallboard.core.events.AgentAfterCallWork(Event) [
        object wb_AgentAfterCallWork, check_size error
    ]:
        cdef object agent, call, media
    ctypedef class wallboard.core.events.AgentDndOn(Event) [object wb_AgentDndOn, check_size error]:
        cdef object agent
    ctypedef class wallboard.core.events.AgentDndOff(Event) [
        object wb_AgentDndOff, check_size error
    ]:
        cdef object agent
    ctypedef class wallboard.core.events.AgentCapacity(Event) [
        object wb_AgentCapacity, check_size error
    ]:
        cdef object agent, capacity, media
    ctypedef class wallboard.core.events.CallQueued(Event) [object wb_CallQueued, check_size error]:
        cdef object call, data, direction, point, queue
    ctypedef class wallboard.core.events.CallRefused(Event) [
        object wb_CallRefused, check_size error
    ]:
        cdef object call, queue, reason
    ctypedef class wallboard.core.events.CallDiverted(Event) [
        object wb_CallDiverted, check_size error
    ]:
        cdef object call, cause, queue, target, wait_ms
    ctypedef class wallboard.core.events.CallRinging(Event) [
        object wb_CallRinging, check_size error
    ]:
        cdef object agent, call, direction, dn, queue
    ctypedef class wallboard.core.events.CallEstablished(Event) [
        object wb_CallEstablished, check_size error
    ]:
        cdef object agent, call, direction, dn, queue, ring_ms, wait_ms
    ctypedef class wallboard.core.events.CallHeld(Event) [object wb_CallHeld, check_size error]:
        cdef object agent, call, dn
    ctypedef class wallboard.core.events.CallRetrieved(Event) [
        object wb_CallRetrieved, check_size error
    ]:
        cdef object agent, call, dn
    ctypedef class wallboard.core.events.CallReleased(Event) [
        object wb_CallReleased, check_size error
    ]:
        cdef object agent, by, call, dn, queue, talk_ms
    ctypedef class wallboard.core.events.CallAbandoned(Event) [
        object wb_CallAbandoned, check_size error
    ]:
        cdef object call, queue, wait_ms
    ctypedef class wallboard.core.events.CallTransferred(Event) [
        object wb_CallTransferred, check_size error
    ]:
        cdef object agent, call, kind, target
    ctypedef class wallboard.core.events.CallConferenced(Event) [
        object wb_CallConferenced, check_size error
    ]:
        cdef object agent, call, target
    ctypedef class wallboard.core.events.CallDataUpdated(Event) [
        object wb_CallDataUpdated, check_size error
    ]:
        cdef object call, data
    ctypedef class wallboard.core.events.VirtualQueueEntered(Event) [
        object wb_VirtualQueueEntered, check_size error
    ]:
        cdef object call, interaction, media, vq
    ctypedef class wallboard.core.events.VirtualQueueLeft(Event) [
        object wb_VirtualQueueLeft, check_size error
    ]:
        cdef object call, interaction, media, reason, target, vq
    ctypedef class wallboard.core.events.InteractionCreated(Event) [
        object wb_InteractionCreated, check_size error
    ]:
        cdef object data, direction, interaction, media
    ctypedef class wallboard.core.events.InteractionQueued(Event) [
        object wb_InteractionQueued, check_size error
    ]:
        cdef object interaction, media, queue
    ctypedef class wallboard.core.events.InteractionOffered(Event) [
        object wb_InteractionOffered, check_size error
    ]:
        cdef object agent, interaction, media, queue
    ctypedef class wallboard.core.events.InteractionAccepted(Event) [
        object wb_InteractionAccepted, check_size error
    ]:
        cdef object agent, interaction, media, queue
    ctypedef class wallboard.core.events.InteractionRejected(Event) [
        object wb_InteractionRejected, check_size error
    ]:
        cdef object agent, interaction, media
    ctypedef class wallboard.core.events.InteractionRevoked(Event) [
        object wb_InteractionRevoked, check_size error
    ]:
        cdef object agent, interaction, media
    ctypedef class wallboard.core.events.InteractionTransferred(Event) [
        object wb_InteractionTransferred, check_size error
    ]:
        cdef object agent, interaction, media, target
    ctypedef class wallboard.core.events.InteractionDone(Event) [
        object wb_InteractionDone, check_size error
    ]:
        cdef object agent, interaction, media, outcome, queue

# Cell offsets (wallboard.stats.tallies), as C integers here.
cdef Py_ssize_t COUNT, TOTAL, IN_RANGE, MAX, MIN
cdef Py_ssize_t SL_ANSWERED_WITHIN, SL_ABANDONED_WITHIN, SL_EXCEEDED, SL_ENTERED
cdef Py_ssize_t SL_REMOVED_WITHIN, SL_ANSWERED
# Accumulator modes (wallboard.stats.tallies), as C integers here.
cdef long long FIXED, SESSION, RING
# Dictionaries read on every event, as C globals (typed: their methods called directly).
cdef dict STATUS_INDEX, _PLAIN, _KIND_INDEX
cdef tuple _NO_ROUTES
cdef Py_ssize_t _KIND_COUNT
cdef object _UNKNOWN_EVENT
# The handled event classes, in the order the dispatch tries them.
cdef object _AGENT_READY, _CALL_QUEUED, _CALL_RINGING, _CALL_ESTABLISHED, _CALL_RELEASED
cdef object _AGENT_AFTER_CALL_WORK, _AGENT_NOT_READY, _INTERACTION_QUEUED, _INTERACTION_OFFERED
cdef object _INTERACTION_ACCEPTED, _INTERACTION_DONE, _INTERACTION_CREATED
cdef object _VIRTUAL_QUEUE_ENTERED, _VIRTUAL_QUEUE_LEFT, _CALL_HELD, _CALL_RETRIEVED
cdef object _CALL_ABANDONED, _CALL_TRANSFERRED, _AGENT_LOGIN, _AGENT_CAPACITY, _AGENT_LOGOUT
cdef object _AGENT_QUEUES_CHANGED, _AGENT_DND_ON, _AGENT_DND_OFF, _CALL_REFUSED, _CALL_DIVERTED
cdef object _CALL_CONFERENCED, _CALL_DATA_UPDATED, _INTERACTION_REJECTED, _INTERACTION_REVOKED
cdef object _INTERACTION_TRANSFERRED

cdef inline bint _same(a, b) except -1
cdef inline MediaState _media_state(AgentState agent, media)
@cython.locals(other=MediaState, voice=MediaState)
cdef bint _busy_elsewhere(AgentState agent, media) except -1
cdef Leg _leg(ContactState call, agent)
cdef ContactState _vq_contact(TenantState state, call, interaction)


cdef class Sub(Tally):
    cdef public FixedWindows windows
    cdef public object filter
    cdef public bint entered, reported
    cdef public dict causes
    cdef public long long grace

    @cython.locals(windows=FixedWindows)
    cdef inline Py_ssize_t _at(self, long long when, long long done) except? -2

    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class ActionSub(Sub):
    cdef public long long lo, hi

    @cython.locals(
        cells=cython.p_longlong, at=Py_ssize_t, low=cython.longlong, causes=dict,
    )
    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class ServiceSub(Sub):
    cdef public long long threshold

    @cython.locals(
        cells=cython.p_longlong, at=Py_ssize_t, within=bint,
    )
    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class StatusSub:
    cdef public object tally, windows, reasons


cdef class TimesSub:
    cdef public object tally, windows


@cython.locals(
    times_model=TimesSub, status_model=StatusSub, service=ServiceSub, action=ActionSub, sub=Sub
)
cdef object _copy_sub(model, restored)


cdef class CompiledStatistic:
    cdef public object definition, parts, specs, windows


cdef class Node:
    cdef public object key
    cdef public bint watches_agents, dirty
    cdef public dict actions, statuses, times, stats, tallies
    cdef public tuple sessions


cdef class TenantRuntime:
    cdef public object zone, config
    cdef public dict group_members, agent_groups, queue_group_members, queue_groups
    cdef public dict login_queues, queue_routes, agent_routes, configured_queues, queue_skills
    cdef public dict transferred


cdef class FactRoute:
    cdef public tuple subs, changed
    cdef public long long marked


cdef class StatusRoute:
    cdef public long long generation, marked
    cdef public tuple changed, times
    cdef public dict sliding, by_status


cdef class Routes:
    cdef public long long generation, marked, agents_marked
    cdef public tuple nodes, status_nodes, queues
    cdef public dict facts, statuses, contents
    cdef public tuple voice
    cdef public QueueContents voice_contents
    cdef public object skill


cdef inline tuple _facts_of(Routes routes, media)


cdef class StatisticsEngine:
    cdef public object definitions
    cdef public long long lateness_ms, events_applied
    cdef public dict anomalies
    cdef public object _time_zones, _default_zone
    cdef public dict _zones, _tenants, _runtime, _nodes
    cdef public dict _compiled, _windows, _seen, _plans
    cdef public bint _routed
    cdef public list _changed, _buffer
    cdef public long long _arrivals, _watermark, _cutoff, _generation, _epoch
    cdef public object _seen_order
    cdef public object _last_tenant
    cdef public TenantRuntime _last_runtime

    cdef TenantRuntime _runtime_of(self, tenant)

    @cython.locals(known=Event, ts=cython.longlong, cutoff=cython.longlong, seen=dict)
    cpdef apply(self, event)

    cdef _anomaly(self, kind)

    @cython.locals(node=Node, changed=list)
    cdef _mark(self, tuple nodes)
    @cython.final
    cdef inline _mark_node(self, Node node)
    @cython.final
    cdef inline _mark_own(self, AgentState agent, Node node)
    @cython.locals(found=list, node=Node, runtime=TenantRuntime, routes=Routes, queues=tuple)
    cdef Routes _route_agent(self, tenant, agent_id, AgentState agent)
    @cython.locals(routes=Routes)
    @cython.final
    cdef inline Routes _agent_routes(self, tenant, agent_id, AgentState agent)
    @cython.locals(found=list, node=Node, runtime=TenantRuntime, routes=Routes, by_id=dict)
    cdef Routes _queue_routes(self, tenant, object_type, queue)

    @cython.locals(
        routes=Routes, node=Node, by_kind=tuple, subs=tuple, sub=Sub, ms=MediaState,
        route=StatusRoute,
    )
    cdef _agent_action(
        self, tenant, agent_id, AgentState agent, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )

    @cython.locals(
        subs=list, changed=list, node=Node, by_kind=tuple, found=tuple, route=FactRoute,
        index=Py_ssize_t,
    )
    cdef FactRoute _fact_route(self, Routes routes, media, kind)

    cdef _queue_action(
        self, tenant, object_type, queue, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )
    @cython.locals(route=FactRoute, subs=tuple, changed=tuple, sub=Sub)
    cdef _action_on(
        self, Routes routes, media, kind, long long t, long long entered_t, long long dur,
        contact,
    )

    cdef _queue_fact(
        self, tenant, object_type, queue, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )
    @cython.locals(route=FactRoute, touched=tuple, sub=Sub)
    cdef _fact_on(
        self, Routes routes, media, kind, long long t, long long entered_t, long long dur,
        contact,
    )

    @cython.locals(contacts=dict)
    cdef _refresh(self, tenant, agent_id, AgentState agent, MediaState ms, media, long long ts)
    @cython.locals(other=MediaState)
    cdef _refresh_others(self, tenant, agent_id, AgentState agent, MediaState ms, long long ts)

    @cython.locals(
        route=StatusRoute, changed=tuple, by_status=dict, node=Node,
        times=StatusTimes, windows=FixedWindows, sliding=SlidingStatusTimes,
    )
    cdef _set_status(
        self, tenant, agent_id, AgentState agent, MediaState ms, media, status, reason,
        long long ts,
    )

    @cython.locals(contact=ContactState)
    cdef _wrap_status(
        self, tenant, MediaState ms, old, status, long long since, long long ts
    )

    @cython.locals(sub=StatusSub)
    cdef _move_status(self, dict by_status, agent_id, old, status, reason, long long ts)

    @cython.locals(
        own=tuple, by_status=dict, index=Py_ssize_t, at=Py_ssize_t, fixed=StatusTimes,
        ring=SlidingStatusTimes,
    )
    cdef _status_on_node(
        self, MediaState ms, agent_id, old, old_reason, long long since, status, reason,
        long long ts,
    )

    @cython.locals(routes=Routes, route=StatusRoute, own=list, node=Node, sub=TimesSub)
    cdef StatusRoute _status_route(self, tenant, agent_id, AgentState agent, MediaState ms, media)
    @cython.locals(
        nodes=tuple, node=Node, times=list, sliding=dict, by_status=dict, changed=list,
        queue_node=Node, sub=object,
    )
    cdef StatusRoute _build_status_route(self, tenant, Routes routes, media)
    @cython.locals(routes=Routes, watchers=tuple, found=list)
    cdef tuple _queue_watchers(self, tenant, queue)
    @cython.locals(
        runtime=TenantRuntime, nodes=dict, node=Node, index=dict, members=set, old=tuple,
        ms=MediaState,
    )
    cdef _set_login_queues(self, tenant, agent_id, AgentState agent, tuple queues)
    @cython.locals(queues=dict, named=tuple)
    cdef _session_queues(self, tenant, agent_id, AgentState agent)
    @cython.locals(changed=list, node=Node, routes=Routes, epoch=cython.longlong)
    cdef _queue_agents_changed(self, tenant, queue)
    cdef AgentState _agent(self, tenant, TenantState state, agent_id, long long ts)
    cdef MediaState _media(self, tenant, agent_id, AgentState agent, media, ts)
    cdef QueueContents _queue_contents(self, TenantState state, object_type, queue, media)

    @cython.locals(contents=QueueContents, routes=Routes, waiting=dict, voice=bint)
    cdef _enter_queue(
        self, tenant, TenantState state, ContactState contact, object_type, queue, ts
    )

    @cython.locals(
        contents=QueueContents, routes=Routes, waiting=dict, in_progress=dict,
        entered=cython.longlong,
    )
    cdef _leave_queue(
        self, tenant, TenantState state, ContactState contact, kind, long long ts,
        long long reported=*,
    )

    @cython.locals(routes=Routes, route=FactRoute, first=cython.longlong)
    cdef _contact_fact(self, tenant, ContactState contact, kind, long long ts)
    @cython.locals(routes=Routes, node=Node)
    cdef Routes _contact_routes(self, tenant)
    cdef _forget_diverted(self, tenant, ContactState contact, long long ts)
    @cython.locals(kept=dict, horizon=cython.longlong, at=cython.longlong, old=ContactState)
    cdef _keep_transferred(self, tenant, TenantState state, ContactState call, long long ts)

    @cython.locals(contents=QueueContents, nodes=tuple, in_progress=dict, routes=Routes)
    cdef _end_contact(self, tenant, TenantState state, ContactState contact)
    @cython.locals(routes=Routes)
    cdef Routes _answered_routes(self, tenant, ContactState contact)

    @cython.locals(
        leg=Leg, agent=AgentState, ms=MediaState, wrap_ms=MediaState, wrap=ContactState
    )
    cdef _drop_leg(
        self, tenant, TenantState state, ContactState contact, agent_id, long long ts,
        bint completed, long long talk_ms=*,
    )

    @cython.locals(leg=Leg, ms=MediaState, contacts=dict, first=bint)
    cdef Leg _set_leg(self, tenant, ContactState contact, AgentState agent, status, long long ts)

    cdef ContactState _call(self, TenantState state, call_id, direction)

    cdef bint _dispatch(self, tenant, TenantState state, event) except -1
    # Event handlers: each takes one event class (its fields read straight off the event).
    @cython.locals(agent=AgentState, ms=MediaState)
    cdef _on_login(self, tenant, TenantState state, AgentLogin e)
    cdef _on_ready(self, tenant, TenantState state, AgentReady e)
    cdef _on_not_ready(self, tenant, TenantState state, AgentNotReady e)
    @cython.locals(agent=AgentState, ms=MediaState)
    cdef _on_acw(self, tenant, TenantState state, AgentAfterCallWork e)
    @cython.locals(agent=AgentState, ms=MediaState)
    cdef _agent_state(
        self, tenant, TenantState state, agent_id, media, long long ts, base, reason
    )
    @cython.locals(call=ContactState)
    cdef _on_call_queued(self, tenant, TenantState state, CallQueued e)
    @cython.locals(
        call=ContactState, agent=AgentState, ts=cython.longlong, entered=cython.longlong
    )
    cdef _on_call_ringing(self, tenant, TenantState state, CallRinging e)
    @cython.locals(
        call=ContactState, leg=Leg, agent=AgentState, ts=cython.longlong,
        entered=cython.longlong, ring=cython.longlong,
    )
    cdef _on_call_established(self, tenant, TenantState state, CallEstablished e)
    @cython.locals(call=ContactState, leg=Leg, talk=cython.longlong)
    cdef _on_call_released(self, tenant, TenantState state, CallReleased e)
    @cython.locals(agent=AgentState)
    cdef _on_queues(self, tenant, TenantState state, AgentQueuesChanged e)
    @cython.locals(agent=AgentState, ms=MediaState)
    cdef _on_logout(self, tenant, TenantState state, AgentLogout e)
    cdef _on_dnd_on(self, tenant, TenantState state, AgentDndOn e)
    cdef _on_dnd_off(self, tenant, TenantState state, AgentDndOff e)
    @cython.locals(agent=AgentState, node=Node)
    cdef _dnd(self, tenant, TenantState state, agent_id, long long ts, bint on)
    cdef _on_capacity(self, tenant, TenantState state, AgentCapacity e)
    @cython.locals(call=ContactState, routes=Routes)
    cdef _on_call_refused(self, tenant, TenantState state, CallRefused e)
    @cython.locals(call=ContactState)
    cdef _on_call_diverted(self, tenant, TenantState state, CallDiverted e)
    @cython.locals(call=ContactState, leg=Leg, agent=AgentState)
    cdef _on_call_held(self, tenant, TenantState state, CallHeld e)
    @cython.locals(call=ContactState, leg=Leg, agent=AgentState)
    cdef _on_call_retrieved(self, tenant, TenantState state, CallRetrieved e)
    @cython.locals(call=ContactState)
    cdef _on_call_abandoned(self, tenant, TenantState state, CallAbandoned e)
    @cython.locals(call=ContactState, agent=AgentState)
    cdef _on_call_transferred(self, tenant, TenantState state, CallTransferred e)
    @cython.locals(call=ContactState, agent=AgentState)
    cdef _on_call_conferenced(self, tenant, TenantState state, CallConferenced e)
    @cython.locals(call=ContactState)
    cdef _on_call_data(self, tenant, TenantState state, CallDataUpdated e)
    @cython.locals(contact=ContactState, waiting=dict)
    cdef _on_vq_entered(self, tenant, TenantState state, VirtualQueueEntered e)
    @cython.locals(contact=ContactState, waiting=dict)
    cdef _on_vq_left(self, tenant, TenantState state, VirtualQueueLeft e)
    @cython.locals(contact=ContactState)
    cdef _on_ix_created(self, tenant, TenantState state, InteractionCreated e)
    @cython.locals(contact=ContactState)
    cdef _on_ix_queued(self, tenant, TenantState state, InteractionQueued e)
    @cython.locals(
        contact=ContactState, agent=AgentState, ts=cython.longlong, entered=cython.longlong
    )
    cdef _on_ix_offered(self, tenant, TenantState state, InteractionOffered e)
    @cython.locals(
        contact=ContactState, leg=Leg, agent=AgentState, ts=cython.longlong,
        entered=cython.longlong, ring=cython.longlong,
    )
    cdef _on_ix_accepted(self, tenant, TenantState state, InteractionAccepted e)
    cdef _on_ix_rejected(self, tenant, TenantState state, InteractionRejected e)
    cdef _on_ix_revoked(self, tenant, TenantState state, InteractionRevoked e)
    @cython.locals(contact=ContactState, leg=Leg)
    cdef _ix_ended_offer(
        self, tenant, TenantState state, interaction_id, agent_id, long long ts
    )
    @cython.locals(contact=ContactState, agent=AgentState)
    cdef _on_ix_transferred(self, tenant, TenantState state, InteractionTransferred e)
    @cython.locals(contact=ContactState)
    cdef _on_ix_done(self, tenant, TenantState state, InteractionDone e)
    cdef ContactState _interaction(self, TenantState state, interaction_id, media, direction=*)
    cdef _process(self, Event event)
    cdef _release(self, up_to)
    cdef _forget_seen(self)
