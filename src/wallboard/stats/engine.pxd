# C types for wallboard/stats/engine.py when compiled (see wallboard.stats.compiled): the
# engine's own classes become extension types and its hot internal methods C functions; the
# Python source is the behaviour, unchanged. Attributes are public so that Python code (tests,
# restore) sees them as before; methods reached from outside the class stay Python methods.

cimport cython

from wallboard.stats.state cimport AgentState, ContactState, Leg, MediaState, TenantState
from wallboard.stats.tallies cimport SlidingStatusTimes, StatusTimes, Tally
from wallboard.stats.windows cimport FixedWindows

# Cell offsets (wallboard.stats.tallies), as C integers here.
cdef Py_ssize_t COUNT, TOTAL, IN_RANGE, MAX, MIN
cdef Py_ssize_t SL_ANSWERED_WITHIN, SL_ABANDONED_WITHIN, SL_EXCEEDED, SL_ENTERED
cdef Py_ssize_t SL_REMOVED_WITHIN, SL_ANSWERED
# Accumulator modes (wallboard.stats.tallies), as C integers here.
cdef long long FIXED, SESSION, RING
# Dictionaries read on every event, as C globals (typed: their methods called directly).
cdef dict STATUS_INDEX, _PLAIN
cdef object _UNKNOWN_EVENT, _AGENT_READY, _AGENT_ACW


cdef class Sub:
    cdef public Tally tally
    cdef public FixedWindows windows
    cdef public object filter
    cdef public bint entered

    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class ActionSub(Sub):
    cdef public long long lo, hi

    @cython.locals(
        cells=cython.p_longlong, windows=FixedWindows, at=Py_ssize_t, tally=Tally,
        when=cython.longlong, low=cython.longlong,
    )
    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class ServiceSub(Sub):
    cdef public long long threshold

    @cython.locals(
        cells=cython.p_longlong, at=Py_ssize_t, within=bint, tally=Tally, windows=FixedWindows,
        when=cython.longlong,
    )
    cpdef hit(self, kind, long long t, long long entered_t, long long dur, contact)


cdef class StatusSub:
    cdef public object tally, windows, reasons


cdef class TimesSub:
    cdef public object tally, windows


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
    cdef public dict login_queues, queue_routes, agent_routes, configured_queues


cdef class FactRoute:
    cdef public tuple subs, changed


cdef class StatusRoute:
    cdef public long long generation
    cdef public tuple changed, times
    cdef public dict sliding, by_status


cdef class Routes:
    cdef public long long generation
    cdef public tuple nodes, status_nodes, queues
    cdef public dict facts, statuses, contents


cdef class StatisticsEngine:
    cdef public object definitions
    cdef public long long lateness_ms, events_applied
    cdef public dict anomalies
    cdef public object _time_zones, _default_zone
    cdef public dict _zones, _tenants, _runtime, _nodes
    cdef public dict _compiled, _windows, _seen, _restoring, _handlers
    cdef public list _changed, _buffer
    cdef public long long _arrivals, _watermark, _cutoff, _generation
    cdef public object _seen_order
    cdef public object _last_tenant
    cdef public TenantRuntime _last_runtime

    cdef TenantRuntime _runtime_of(self, tenant)

    @cython.locals(ts=cython.longlong, cutoff=cython.longlong, seen=dict)
    cpdef apply(self, event)

    cdef _anomaly(self, kind)

    @cython.locals(node=Node, changed=list)
    cdef _mark(self, tuple nodes)
    @cython.final
    cdef inline _mark_node(self, Node node)
    @cython.locals(found=list, node=Node, runtime=TenantRuntime, routes=Routes, queues=tuple)
    cdef Routes _route_agent(self, tenant, agent_id, AgentState agent)
    @cython.locals(routes=Routes)
    @cython.final
    cdef inline Routes _agent_routes(self, tenant, agent_id, AgentState agent)
    @cython.locals(found=list, node=Node, runtime=TenantRuntime, routes=Routes, by_id=dict)
    cdef Routes _queue_routes(self, tenant, object_type, queue)

    @cython.locals(routes=Routes, node=Node, by_kind=dict, subs=tuple, sub=Sub)
    cdef _agent_action(
        self, tenant, agent_id, AgentState agent, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )

    @cython.locals(subs=list, changed=list, node=Node, by_kind=dict, found=tuple, route=FactRoute)
    cdef FactRoute _fact_route(self, Routes routes, media, kind)

    cdef _queue_action(
        self, tenant, object_type, queue, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )
    @cython.locals(by_kind=dict, route=FactRoute, subs=tuple, changed=tuple, sub=Sub)
    cdef _action_on(
        self, Routes routes, media, kind, long long t, long long entered_t, long long dur,
        contact,
    )

    cdef _queue_fact(
        self, tenant, object_type, queue, media, kind, long long t, long long entered_t,
        long long dur, contact,
    )
    @cython.locals(by_kind=dict, route=FactRoute, touched=tuple, sub=Sub)
    cdef _fact_on(
        self, Routes routes, media, kind, long long t, long long entered_t, long long dur,
        contact,
    )

    @cython.locals(contacts=dict)
    cdef _refresh(self, tenant, agent_id, AgentState agent, MediaState ms, media, ts)

    @cython.locals(
        route=StatusRoute, changed=tuple, by_status=dict, node=Node,
        times=StatusTimes, windows=FixedWindows, sliding=SlidingStatusTimes,
    )
    cdef _set_status(
        self, tenant, agent_id, AgentState agent, MediaState ms, media, status, reason, ts
    )

    @cython.locals(sub=StatusSub)
    cdef _move_status(self, dict by_status, agent_id, old, status, reason, long long ts)

    @cython.locals(
        times_subs=tuple, times_sub=TimesSub, by_status=dict, sub=StatusSub, index=Py_ssize_t,
        fixed=StatusTimes, ring=SlidingStatusTimes,
    )
    cdef _status_on_node(
        self, Node node, agent_id, media, old, old_reason, long long since, status, reason,
        long long ts,
    )

    @cython.locals(routes=Routes, route=StatusRoute)
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
    @cython.locals(changed=list, node=Node)
    cdef _queue_agents_changed(self, tenant, queue)
    cdef AgentState _agent(self, tenant, TenantState state, agent_id, ts)
    cdef MediaState _media(self, tenant, agent_id, AgentState agent, media, ts)
    cdef dict _queue_statuses(self, TenantState state, object_type, queue, media)

    @cython.locals(statuses=dict, routes=Routes)
    cdef _enter_queue(
        self, tenant, TenantState state, contact_id, ContactState contact, object_type, queue, ts
    )

    @cython.locals(statuses=dict, routes=Routes)
    cdef _leave_queue(
        self, tenant, TenantState state, contact_id, ContactState contact, kind, ts
    )

    @cython.locals(statuses=dict, nodes=tuple)
    cdef _end_contact(self, tenant, TenantState state, contact_id, ContactState contact)
    @cython.locals(routes=Routes)
    cdef Routes _answered_routes(self, tenant, ContactState contact)

    @cython.locals(leg=Leg, agent=AgentState, ms=MediaState)
    cdef _drop_leg(
        self, tenant, TenantState state, contact_id, ContactState contact, agent_id, ts,
        bint completed,
    )

    @cython.locals(leg=Leg, ms=MediaState)
    cdef Leg _set_leg(
        self, tenant, TenantState state, contact_id, ContactState contact, agent_id,
        AgentState agent, status, ts,
    )

    cdef ContactState _call(self, TenantState state, call_id, direction)

    # Event handlers: Python-callable (the dispatch table holds them as bound methods), with
    # C-typed locals.
    @cython.locals(agent=AgentState, ms=MediaState)
    cpdef _on_login(self, tenant, TenantState state, e)
    @cython.locals(agent=AgentState, ms=MediaState)
    cpdef _on_agent_state(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState)
    cpdef _on_call_queued(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, agent=AgentState)
    cpdef _on_call_ringing(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, leg=Leg, agent=AgentState)
    cpdef _on_call_established(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, leg=Leg)
    cpdef _on_call_released(self, tenant, TenantState state, e)
    @cython.locals(agent=AgentState)
    cpdef _on_queues(self, tenant, TenantState state, e)
    @cython.locals(agent=AgentState, ms=MediaState)
    cpdef _on_logout(self, tenant, TenantState state, e)
    @cython.locals(agent=AgentState)
    cpdef _on_dnd(self, tenant, TenantState state, e)
    cpdef _on_capacity(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState)
    cpdef _on_call_refused(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState)
    cpdef _on_call_diverted(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, leg=Leg, agent=AgentState)
    cpdef _on_call_held(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, leg=Leg, agent=AgentState)
    cpdef _on_call_retrieved(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState)
    cpdef _on_call_abandoned(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, agent=AgentState)
    cpdef _on_call_transferred(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState, agent=AgentState)
    cpdef _on_call_conferenced(self, tenant, TenantState state, e)
    @cython.locals(call=ContactState)
    cpdef _on_call_data(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState)
    cpdef _on_vq_entered(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState)
    cpdef _on_vq_left(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState)
    cpdef _on_ix_created(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState)
    cpdef _on_ix_queued(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState, agent=AgentState)
    cpdef _on_ix_offered(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState, leg=Leg, agent=AgentState)
    cpdef _on_ix_accepted(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState, leg=Leg)
    cpdef _on_ix_ended_offer(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState, agent=AgentState)
    cpdef _on_ix_transferred(self, tenant, TenantState state, e)
    @cython.locals(contact=ContactState)
    cpdef _on_ix_done(self, tenant, TenantState state, e)
    cdef ContactState _interaction(self, TenantState state, interaction_id, media, direction=*)
    cdef _process(self, event)
    cdef _release(self, up_to)
    cdef _forget_seen(self)
