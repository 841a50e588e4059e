"""Erlang C (M/M/N) formulas: the reference the simulator and the statistics are checked against.

Offered load A = λ·h (arrival rate times mean handle time), N agents, A < N:

- probability of waiting ``P_wait = (A^N/N! · N/(N-A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N-A))``
- service level ``SL(T) = 1 - P_wait · exp(-(N-A)·T/h)`` (answered within T seconds)
- average speed of answer ``ASA = P_wait · h / (N-A)``

The sums are computed with the Erlang B recursion, which never overflows.
"""

from __future__ import annotations

import dataclasses
import math

from wallboard.core.errors import InvalidInput


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErlangC:
    agents: int
    load: float
    """Offered load A in erlangs."""
    p_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N, by the recursion B(k) = A·B(k-1) / (k + A·B(k-1))."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(
    *, agents: int, calls_per_hour: float, aht_seconds: float, threshold_seconds: float = 20.0
) -> ErlangC:
    """The steady state of M/M/N with these parameters; the load must be below ``agents``."""
    load = calls_per_hour * aht_seconds / 3600.0
    if agents < 1 or not 0 < load < agents:
        raise InvalidInput(
            f"Erlang C needs 0 < load < agents (load {load:.4g}, agents {agents})", field="agents"
        )
    b = erlang_b(agents, load)
    p_wait = agents * b / (agents - load * (1 - b))
    decay = math.exp(-(agents - load) * threshold_seconds / aht_seconds)
    return ErlangC(
        agents=agents,
        load=load,
        p_wait=p_wait,
        service_level=1 - p_wait * decay,
        asa_seconds=p_wait * aht_seconds / (agents - load),
        occupancy=load / agents,
    )
