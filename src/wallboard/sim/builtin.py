"""Built-in scenarios: ``demo`` (what ``wallboard demo`` runs on), ``large`` (load tests) and
``erlang`` (the textbook M/M/N and M/M/N+M queue the statistics are checked against)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec

from wallboard.core.errors import InvalidInput
from wallboard.core.events import Media
from wallboard.sim.scenario import (
    AgentCalls,
    Arrivals,
    Break,
    Duration,
    Group,
    Hold,
    Profile,
    Queue,
    RandomNotReady,
    Scenario,
    Shift,
    Tenant,
    Transfer,
    check_scenario,
)
from wallboard.sim.staffing import Workload, requirement, staggered_shifts

BANK_HALF_HOURS: tuple[float, ...] = (
    478.0, 535.2, 827.8, 1095.2, 1532.7, 1685.7, 1699.7, 1694.3, 1663.6, 1617.4,
    1567.7, 1541.0, 1499.1, 1484.7, 1453.1, 1449.1, 1406.0, 1374.8, 1291.2, 1159.7,
    983.3, 860.0, 754.3, 674.0, 593.0, 541.7, 484.4, 444.7,
)  # fmt: skip
"""Mean calls per half-hour from 07:00 to 21:00 at a North American commercial bank, over 164
weekdays of 2003: the ``bank_calls`` data of the R package fpp3 (Hyndman & Athanasopoulos,
GPL-3), analysed in Weinberg, Brown & Stroud (2007), JASA 102:1185."""

BANK_PROFILE = Profile(weights=list(BANK_HALF_HOURS), start="07:00", interval_minutes=30)

_BREAKS = [
    Break(reason="break", after=2.0, minutes=15),
    Break(reason="lunch", after=4.0, minutes=30),
    Break(reason="break", after=6.5, minutes=15),
]
_NOT_READY = RandomNotReady(
    per_hour=0.3,
    duration=Duration(dist="lognormal", mean=180, sd=120),
    reasons=["personal", "training", "coaching"],
)
_RING = Duration(dist="lognormal", mean=4, sd=2)

DEMO_START = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC)
"""The demo's day opens with its profile, at 07:00 on a Monday."""

_BANK_WEIGHTS = [w * len(BANK_HALF_HOURS) / sum(BANK_HALF_HOURS) for w in BANK_HALF_HOURS]


def _staffed(group: Group, *workloads: Queue | tuple[Queue, int, float]) -> Group:
    """``group`` with agents and staggered 8.5-hour shifts that answer 80 % of its calls within
    20 s in every half-hour of the day (chats and emails: within the given seconds, each agent
    taking the given number at once), allowing 15 % for breaks and not-ready time."""
    loads = []
    for work in workloads:
        queue, servers, threshold = work if isinstance(work, tuple) else (work, 1, 20.0)
        loads.append(
            Workload.of(
                queue, _BANK_WEIGHTS, threshold_seconds=threshold, servers_per_agent=servers
            )
        )
    shifts = staggered_shifts(
        requirement(loads), interval_hours=0.5, shift_hours=8.5, login_spread=300
    )
    return msgspec.structs.replace(
        group, agents=sum(s.agents or 0 for s in shifts), shift=Shift(), shifts=shifts
    )


def demo() -> Scenario:
    """Two tenants, 6 queues: voice (with a routing point and virtual queues in front), chat and
    email; staggered shifts staffed to the arrival profile (:func:`_staffed`), breaks and lunch,
    random not-ready, transfers, hold, outbound and internal calls; arrivals shaped by the
    bank's real intraday profile, from 07:00 to 21:00."""
    retail = Queue(
        id="retail",
        routing_point="rp-retail",
        virtual_queue="vq-retail",
        arrivals=Arrivals(per_hour=100, profile="bank"),
        handle_time=Duration(dist="lognormal", mean=240, sd=150),
        answer_delay=_RING,
        patience=Duration(dist="lognormal", mean=150, sd=100),
        after_call_work=Duration(dist="lognormal", mean=20, sd=10),
        hold=Hold(probability=0.15, duration=Duration(mean=40)),
        transfer=Transfer(
            probability=0.05,
            to=["loans"],
            consult_probability=0.5,
            consult=Duration(mean=30),
        ),
    )
    loans = Queue(
        id="loans",
        virtual_queue="vq-loans",
        routing="skill_level",
        arrivals=Arrivals(per_hour=35, profile="bank"),
        handle_time=Duration(dist="lognormal", mean=360, sd=200),
        answer_delay=_RING,
        patience=Duration(mean=180),
        after_call_work=Duration(dist="constant", mean=30),
    )
    acme_chat = Queue(
        id="acme-chat",
        media=Media.CHAT,
        virtual_queue="vq-acme-chat",
        arrivals=Arrivals(per_hour=50, profile="bank"),
        handle_time=Duration(dist="lognormal", mean=600, sd=300),
        answer_delay=Duration(dist="constant", mean=5),
        patience=Duration(mean=240),
    )
    acme_email = Queue(
        id="acme-email",
        media=Media.EMAIL,
        arrivals=Arrivals(per_hour=20, profile="bank"),
        handle_time=Duration(dist="lognormal", mean=480, sd=240),
        answer_delay=Duration(dist="constant", mean=10),
    )
    acme = Tenant(
        id="acme",
        queues=[retail, loans, acme_chat, acme_email],
        groups=[
            _staffed(
                Group(
                    id="retail",
                    agents=1,
                    skills={"retail": 8, "loans": 3},
                    breaks=_BREAKS,
                    not_ready=_NOT_READY,
                    outbound=AgentCalls(
                        per_hour=0.4,
                        handle_time=Duration(dist="lognormal", mean=180, sd=90),
                        answer_probability=0.7,
                    ),
                    internal=AgentCalls(per_hour=0.3, handle_time=Duration(mean=90)),
                ),
                retail,
            ),
            _staffed(
                Group(
                    id="loans",
                    agents=1,
                    skills={"loans": 8, "retail": 4},
                    breaks=_BREAKS,
                    not_ready=_NOT_READY,
                ),
                loans,
            ),
            _staffed(
                Group(
                    id="digital",
                    agents=1,
                    skills={"acme-chat": 5, "acme-email": 5, "retail": 2},
                    capacity={Media.VOICE: 1, Media.CHAT: 3, Media.EMAIL: 2},
                    breaks=_BREAKS,
                    not_ready=_NOT_READY,
                ),
                (acme_chat, 3, 60.0),
                (acme_email, 2, 3600.0),
            ),
        ],
    )
    support = Queue(
        id="support",
        virtual_queue="vq-support",
        arrivals=Arrivals(per_hour=110, profile="bank"),
        handle_time=Duration(mean=300),
        answer_delay=_RING,
        patience=Duration(mean=150),
        after_call_work=Duration(dist="constant", mean=20),
        hold=Hold(probability=0.1, duration=Duration(mean=60)),
    )
    globex_chat = Queue(
        id="globex-chat",
        media=Media.CHAT,
        virtual_queue="vq-globex-chat",
        arrivals=Arrivals(per_hour=40, profile="bank"),
        handle_time=Duration(dist="lognormal", mean=420, sd=200),
        answer_delay=Duration(dist="constant", mean=4),
        patience=Duration(mean=300),
    )
    globex = Tenant(
        id="globex",
        queues=[support, globex_chat],
        groups=[
            _staffed(
                Group(
                    id="support",
                    agents=1,
                    skills={"support": 5},
                    breaks=_BREAKS,
                    not_ready=_NOT_READY,
                    internal=AgentCalls(per_hour=0.2, handle_time=Duration(mean=60)),
                ),
                support,
            ),
            _staffed(
                Group(
                    id="chat",
                    agents=1,
                    skills={"globex-chat": 5, "support": 2},
                    capacity={Media.VOICE: 1, Media.CHAT: 4},
                    breaks=_BREAKS,
                    not_ready=_NOT_READY,
                ),
                (globex_chat, 4, 60.0),
            ),
        ],
    )
    return Scenario(
        name="demo",
        start=DEMO_START,
        profiles={"bank": BANK_PROFILE},
        tenants=[acme, globex],
    )


def large(tenants: int = 10) -> Scenario:
    """About 5,000 agents and 500 queues: per tenant 10 clusters of 5 queues (8 voice, 1 chat,
    1 email) each served by a group of 50 agents at about 85 % occupancy."""
    out: list[Tenant] = []
    for ti in range(1, tenants + 1):
        queues: list[Queue] = []
        groups: list[Group] = []
        for ci in range(10):
            media = Media.VOICE if ci < 8 else (Media.CHAT if ci == 8 else Media.EMAIL)
            names = [f"c{ci}q{k}" for k in range(5)]
            for k, name in enumerate(names):
                if media is Media.VOICE:
                    queues.append(
                        Queue(
                            id=name,
                            virtual_queue=f"vq-{name}" if k == 0 else None,
                            arrivals=Arrivals(per_hour=95),
                            handle_time=Duration(dist="lognormal", mean=300, sd=200),
                            answer_delay=Duration(dist="constant", mean=3),
                            patience=Duration(mean=180),
                            after_call_work=Duration(dist="constant", mean=15),
                            hold=Hold(probability=0.1, duration=Duration(mean=30)),
                            transfer=Transfer(
                                probability=0.02,
                                to=[f"c{(ci + 1) % 8}q{k}"],
                                consult_probability=0.3,
                            ),
                        )
                    )
                else:
                    queues.append(
                        Queue(
                            id=name,
                            media=media,
                            virtual_queue=f"vq-{name}" if k == 0 else None,
                            arrivals=Arrivals(per_hour=153 if media is Media.CHAT else 102),
                            handle_time=Duration(dist="lognormal", mean=600, sd=300),
                            answer_delay=Duration(dist="constant", mean=4),
                            patience=Duration(mean=300) if media is Media.CHAT else None,
                        )
                    )
            capacity: dict[Media, int] = {
                media: 1 if media is Media.VOICE else 3 if media is Media.CHAT else 2
            }
            groups.append(
                Group(
                    id=f"g{ci}",
                    agents=50,
                    skills={name: 5 + (k % 3) for k, name in enumerate(names)},
                    capacity=capacity,
                    shift=Shift(start=0, end=None, login_spread=60),
                    breaks=_BREAKS,
                    not_ready=RandomNotReady(per_hour=0.5, duration=Duration(mean=120)),
                )
            )
        out.append(Tenant(id=f"t{ti:02d}", queues=queues, groups=groups))
    return Scenario(name="large", tenants=out)


def erlang(
    *,
    agents: int = 14,
    calls_per_hour: float = 200.0,
    aht: float = 180.0,
    patience: float | None = None,
) -> Scenario:
    """One queue, ``agents`` identical agents, Poisson arrivals, exponential handle times with
    mean ``aht`` seconds, exponential patience with mean ``patience`` seconds (None: nobody
    abandons); no ringing, after-call work, breaks or shifts: M/M/N (Erlang C) or M/M/N+M."""
    if agents < 1:
        raise InvalidInput("--agents must be at least 1", field="agents")
    if calls_per_hour <= 0 or aht <= 0:
        raise InvalidInput("--calls-per-hour and --aht must be above 0", field="calls_per_hour")
    if patience is not None and patience <= 0:
        raise InvalidInput(
            "--patience must be above 0 (omit it: nobody abandons)", field="patience"
        )
    return Scenario(
        name="erlang",
        tenants=[
            Tenant(
                id="erlang",
                queues=[
                    Queue(
                        id="queue",
                        arrivals=Arrivals(per_hour=calls_per_hour),
                        handle_time=Duration(dist="exponential", mean=aht),
                        patience=Duration(dist="exponential", mean=patience) if patience else None,
                    )
                ],
                groups=[Group(id="agent", agents=agents, skills={"queue": 1})],
            )
        ],
    )


BUILTINS: dict[str, Callable[[], Scenario]] = {"demo": demo, "large": large, "erlang": erlang}


def builtin_scenario(name: str) -> Scenario:
    """A built-in scenario by name (``erlang`` with its default parameters)."""
    factory = BUILTINS.get(name)
    if factory is None:
        raise InvalidInput(
            f"unknown scenario {name!r}: give a built-in ({', '.join(BUILTINS)}) or a YAML file",
            field="scenario",
        )
    scenario = factory()
    check_scenario(scenario)
    return scenario
