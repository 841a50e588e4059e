"""A live wallboard in the terminal: queues, agent groups and agents, thresholds coloured.

It reads values through a :data:`ValueReader`: from a value store's snapshots
(:func:`stored_values`, what ``wallboard demo`` and ``wallboard run`` show until the web UI
exists) or straight from a :class:`~wallboard.stats.StatisticsEngine` (:func:`engine_values`),
and renders them with rich. The board fits the terminal it is
given: columns that do not fit are left out by priority, rows that do not fit are cut, and the
board says what it left out instead of letting the terminal crop it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wallboard.core.events import Media
from wallboard.stats import AgentStatusValue, StatisticsEngine, Value
from wallboard.store.values import Since, TenantValues

GAP = 1
"""Spaces between two columns."""


@dataclass(frozen=True)
class Column:
    """One statistic shown as a column, with how to format it and when to colour it.

    ``stat_id`` names one statistic, or one per media for a table of several media (the cell
    of a media without one stays blank: not applicable, unlike "N/A", missing). Columns with
    the highest ``priority`` number are left out first when the terminal is too narrow.
    """

    stat_id: str | Mapping[Media, str]
    title: str
    format: str  # "integer", "time" or "percent" (0-100, as every percentage the engine gives)
    warn: float | None = None
    alarm: float | None = None
    higher_is_better: bool = False
    priority: int = 0

    def stat_for(self, media: Media) -> str | None:
        if isinstance(self.stat_id, str):
            return self.stat_id
        return self.stat_id.get(media)


QUEUE_COLUMNS: tuple[Column, ...] = (
    Column("queue.calls_waiting", "Wait", "integer", warn=3, alarm=6),
    Column("queue.longest_wait", "Longest", "time", warn=30_000, alarm=60_000),
    Column("queue.offered", "Offer", "integer", priority=2),
    Column("queue.answered", "Answ", "integer", priority=3),
    Column("queue.abandoned", "Aband", "integer", priority=4),
    Column("queue.abandon_rate", "Ab %", "percent", warn=5, alarm=10, priority=1),
    Column("queue.service_level", "SL20", "percent", warn=80, alarm=70, higher_is_better=True),
    Column("queue.asa", "ASA", "time", warn=20_000, alarm=40_000, priority=5),
    Column("queue.aht", "AHT", "time", priority=6),
)

_CHAT, _EMAIL = Media.CHAT, Media.EMAIL

DIGITAL_COLUMNS: tuple[Column, ...] = (
    Column({_CHAT: "queue.chats_waiting", _EMAIL: "queue.emails_waiting"}, "Wait", "integer"),
    Column(
        {_CHAT: "queue.chat_longest_wait", _EMAIL: "queue.email_oldest"},
        "Oldest",
        "time",
        priority=1,
    ),
    Column({_CHAT: "queue.chats_entered", _EMAIL: "queue.emails_entered"}, "In", "integer"),
    Column({_CHAT: "queue.chats_answered"}, "Answ", "integer", priority=4),
    Column({_EMAIL: "queue.emails_handled"}, "Done", "integer", priority=3),
    Column({_CHAT: "queue.chats_abandoned"}, "Aband", "integer", priority=2),
    Column(
        {_CHAT: "queue.chat_service_level"},
        "SL60",
        "percent",
        warn=80,
        alarm=70,
        higher_is_better=True,
    ),
    Column({_CHAT: "queue.chat_asa"}, "ASA", "time", warn=30_000, alarm=60_000, priority=5),
)

GROUP_COLUMNS: tuple[Column, ...] = (
    Column("group.agents_logged_in", "In", "integer"),
    Column("group.agents_ready", "Ready", "integer"),
    Column("group.agents_talking", "Talk", "integer", priority=1),
    Column("group.agents_acw", "ACW", "integer", priority=3),
    Column("group.agents_not_ready", "NR", "integer"),
    Column("group.longest_not_ready", "Max NR", "time", warn=600_000, alarm=900_000),
    Column("group.calls_handled", "Hndl", "integer", priority=2),
    Column("group.aht", "AHT", "time", priority=4),
)

AGENT_STATUS = "agent.status"
AGENT_TIME = "agent.time_in_status"
AGENT_MEDIA_STATUS: tuple[tuple[str, str], ...] = (
    ("agent.chat_status", "chat"),
    ("agent.email_status", "email"),
)
"""An agent ready on voice while it handles chats or emails is shown busy with them."""

_BUSY = ("ringing", "talking", "held", "acw")


def format_value(value: Value, fmt: str) -> str:
    """Render a value; missing is "N/A", never 0."""
    if value is None:
        return "N/A"
    if isinstance(value, dict):  # a breakdown, e.g. not-ready time by reason
        return ", ".join(f"{key} {format_value(part, fmt)}" for key, part in sorted(value.items()))
    if not isinstance(value, int | float):
        return str(value.state)
    if fmt == "time":
        seconds = round(value / 1000)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    if fmt == "percent":
        return f"{value:.1f}%"
    return f"{value:,.0f}"


def style_for(value: Value, column: Column) -> str:
    """Green, yellow or red by the column's thresholds; no colour without them."""
    if not isinstance(value, int | float) or column.warn is None or column.alarm is None:
        return ""
    if column.higher_is_better:
        return "red" if value < column.alarm else "yellow" if value < column.warn else "green"
    return "bold red" if value >= column.alarm else "yellow" if value >= column.warn else "green"


@dataclass(frozen=True)
class BoardObjects:
    """The objects of one tenant shown on the board."""

    tenant: str
    queues: Sequence[str]
    """Voice queues."""
    agent_groups: Sequence[str]
    digital_queues: Sequence[tuple[str, Media]] = ()
    """Chat and email queues, with their media."""
    agents: Sequence[str] = field(default=())


def board_statistics() -> frozenset[str]:
    """Every statistic the board may show, of every object type and media."""
    ids = {AGENT_STATUS, AGENT_TIME, *(s for s, _ in AGENT_MEDIA_STATUS)}
    for column in (*QUEUE_COLUMNS, *DIGITAL_COLUMNS, *GROUP_COLUMNS):
        ids.update([column.stat_id] if isinstance(column.stat_id, str) else column.stat_id.values())
    return frozenset(ids)


def open_board_statistics(engine: StatisticsEngine, objects: Sequence[BoardObjects]) -> None:
    """Open every statistic the board shows, so the engine computes them."""
    agent_stats = (AGENT_STATUS, AGENT_TIME, *(s for s, _ in AGENT_MEDIA_STATUS))
    for tenant in objects:
        shown: list[tuple[str, str, Media, Sequence[Column] | Sequence[str]]] = [
            *(("queue", q, Media.VOICE, QUEUE_COLUMNS) for q in tenant.queues),
            *(("queue", q, m, DIGITAL_COLUMNS) for q, m in tenant.digital_queues),
            *(("agent_group", g, Media.VOICE, GROUP_COLUMNS) for g in tenant.agent_groups),
            *(("agent", a, Media.VOICE, agent_stats) for a in tenant.agents),
        ]
        for object_type, object_id, media, columns in shown:
            for column in columns:
                stat_id = column if isinstance(column, str) else column.stat_for(media)
                if stat_id is not None:
                    engine.open(tenant.tenant, object_type, object_id, stat_id)


ValueReader = Callable[[str, str, str, str], Value]
"""(tenant, object type, object id, statistic id) → the value the board shows, None when
there is none."""


def engine_values(engine: StatisticsEngine, now_ms: int) -> ValueReader:
    """Values computed by ``engine`` at ``now_ms``."""

    def read(tenant: str, object_type: str, object_id: str, stat_id: str) -> Value:
        return engine.value(tenant, object_type, object_id, stat_id, now_ms)

    return read


def stored_values(snapshots: Mapping[str, TenantValues], now_ms: int) -> ValueReader:
    """Values as a value store holds them (tenant → its snapshot's values), read at ``now_ms``:
    a duration kept as its start grows to ``now_ms``; a status is the engine's again."""

    def read(tenant: str, object_type: str, object_id: str, stat_id: str) -> Value:
        by_id = snapshots.get(tenant, {}).get(object_type, {})
        stored = by_id.get(object_id, {}).get(stat_id)
        if isinstance(stored, Since):
            return now_ms - stored.since_ms
        if isinstance(stored, dict) and "state" in stored:
            try:
                return msgspec.convert(stored, AgentStatusValue)
            except msgspec.ValidationError:
                return None
        if isinstance(stored, bool | str | list):
            return None  # no statistic the board shows is kept so
        return stored  # type: ignore[return-value]  # a number, a breakdown or None

    return read


_SEEN_BY: Mapping[Media, tuple[str, ...]] = {
    Media.VOICE: ("queue.offered", "queue.calls_waiting"),
    Media.CHAT: ("queue.chats_entered", "queue.chats_waiting"),
    Media.EMAIL: ("queue.emails_entered", "queue.emails_waiting"),
}
"""Statistics whose value tells that a queue has had contacts of a media."""


def discovered_objects(tenant: str, values: TenantValues) -> BoardObjects:
    """What the board shows of a tenant known only by its values (a platform's objects are
    not configured; they are met in its events): every queue under the media it has had
    contacts of (voice when none yet), every agent group and agent."""
    voice: list[str] = []
    digital: list[tuple[str, Media]] = []
    for queue, stats in sorted(values.get("queue", {}).items()):
        media = [m for m, ids in _SEEN_BY.items() if any(stats.get(i) for i in ids)]
        if not media or Media.VOICE in media:
            voice.append(queue)
        digital.extend((queue, m) for m in media if m is not Media.VOICE)
    return BoardObjects(
        tenant=tenant,
        queues=voice,
        digital_queues=digital,
        agent_groups=sorted(values.get("agent_group", {})),
        agents=sorted(values.get("agent", {})),
    )


@dataclass
class _Section:
    """One table of the board as plain cells, before it is fitted to the terminal."""

    title: str
    headers: list[str]
    rows: list[list[Text]]
    justify: list[bool]  # right-justified
    priorities: list[int]  # per column; the name columns are never left out (-1)
    shown_rows: int = 0
    hidden: list[str] = field(default_factory=list)
    note: str = ""

    def widths(self) -> list[int]:
        return [
            max([len(h)] + [r[i].cell_len for r in self.rows]) for i, h in enumerate(self.headers)
        ]

    def fit_width(self, width: int) -> list[int]:
        """The columns kept, in order: the lowest priorities first until the rest fits."""
        widths = self.widths()
        keep = list(range(len(self.headers)))
        by_priority = sorted(keep, key=lambda i: (self.priorities[i], i))
        while sum(widths[i] for i in keep) + GAP * (len(keep) - 1) > width:
            victim = by_priority.pop()
            if self.priorities[victim] < 0:
                break  # the names stay; the terminal crops what is left
            keep.remove(victim)
            self.hidden.insert(0, self.headers[victim])
        return keep

    def render(self, width: int) -> list[RenderableType]:
        """The title (saying what is left out) and the table, ``width`` columns at most."""
        keep = self.fit_width(width)
        notes = [n for n in (self.note, _rows_note(self.shown_rows, len(self.rows))) if n]
        if self.hidden:
            notes.append("not shown: " + " ".join(self.hidden))
        title = f"{self.title} ({'; '.join(notes)})" if notes else self.title
        table = Table(
            box=None,
            # One space between columns (padding on both sides, collapsed), none at the edges.
            padding=(0, GAP),
            collapse_padding=True,
            pad_edge=False,
            show_edge=False,
            header_style="bold underline",
        )
        for i in keep:
            table.add_column(
                self.headers[i],
                justify="right" if self.justify[i] else "left",
                no_wrap=True,
                overflow="ellipsis",
            )
        for row in self.rows[: self.shown_rows]:
            table.add_row(*(row[i] for i in keep))
        return [Text(title, style="bold", no_wrap=True, overflow="ellipsis"), table]


def _rows_note(shown: int, total: int) -> str:
    return "" if shown >= total else f"{shown} of {total} shown"


def _cells(
    values: ValueReader,
    tenant: str,
    object_type: str,
    object_id: str,
    media: Media,
    columns: Sequence[Column],
) -> list[Text]:
    cells: list[Text] = []
    for column in columns:
        stat_id = column.stat_for(media)
        if stat_id is None:
            cells.append(Text(""))
            continue
        value = values(tenant, object_type, object_id, stat_id)
        cells.append(Text(format_value(value, column.format), style=style_for(value, column)))
    return cells


def _object_section(
    values: ValueReader,
    title: str,
    object_type: str,
    columns: Sequence[Column],
    objects: Sequence[tuple[str, str, Media]],
) -> _Section:
    """A table of (tenant, object, media) of several tenants: the tenant on its first row,
    then the name, then the columns' values."""
    rows: list[list[Text]] = []
    previous = None
    for tenant, object_id, media in objects:
        cells = _cells(values, tenant, object_type, object_id, media, columns)
        rows.append([Text(tenant if tenant != previous else ""), Text(object_id), *cells])
        previous = tenant
    return _Section(
        title=title,
        headers=["Tenant", "Group" if object_type == "agent_group" else "Queue"]
        + [c.title for c in columns],
        rows=rows,
        justify=[False, False, *(True for _ in columns)],
        priorities=[-1, -1, *(c.priority for c in columns)],
    )


def _agents(
    values: ValueReader, objects: Sequence[BoardObjects], now_ms: int
) -> tuple[list[list[Text]], int]:
    """Logged-in agents as (agent, state, reason, time in state), not ready first, then
    longest in their state first; and how many agents are logged out."""
    agents: list[tuple[int, float, str, list[Text]]] = []
    logged_out = 0
    for tenant in objects:
        for agent in tenant.agents:
            status = values(tenant.tenant, "agent", agent, AGENT_STATUS)
            if not isinstance(status, AgentStatusValue) or status.state == "logged_out":
                logged_out += 1
                continue
            state = status.state
            elapsed = values(tenant.tenant, "agent", agent, AGENT_TIME)
            if state == "ready":
                for stat_id, label in AGENT_MEDIA_STATUS:
                    other = values(tenant.tenant, "agent", agent, stat_id)
                    if isinstance(other, AgentStatusValue) and other.state in _BUSY:
                        state, elapsed = label, now_ms - other.since
                        break
            ms = elapsed if isinstance(elapsed, int | float) else 0
            style = style_for(ms, _MAX_NOT_READY) if state == "not_ready" else ""
            cells = [
                Text(agent),
                Text(state),
                Text(status.reason or ""),
                Text(format_value(elapsed, "time"), style=style),
            ]
            agents.append((0 if state == "not_ready" else 1, -ms, agent, cells))
    agents.sort(key=lambda a: a[:3])
    return [cells for *_, cells in agents], logged_out


_MAX_NOT_READY = next(c for c in GROUP_COLUMNS if c.stat_id == "group.longest_not_ready")
_AGENT_HEADERS = ("Agent", "State", "Reason", "Time")


def _agent_blocks(agents: Sequence[list[Text]], width: int) -> int:
    """How many blocks of (agent, state, reason, time) fit side by side."""
    widths = [max([len(h)] + [a[i].cell_len for a in agents]) for i, h in enumerate(_AGENT_HEADERS)]
    block = sum(widths) + GAP * (len(widths) - 1)
    between = 1 + 2 * GAP  # a blank column between two blocks, with its gaps
    return max(1, (width + between) // (block + between))


def _agent_section(
    agents: Sequence[list[Text]], blocks: int, rows: int, logged_out: int
) -> _Section:
    """The first ``blocks * rows`` agents side by side in ``blocks`` blocks, read down each
    block then across."""
    shown = agents[: blocks * rows]
    per_block = -(-len(shown) // blocks)
    table_rows: list[list[Text]] = []
    for r in range(per_block):
        row: list[Text] = []
        for b in range(blocks):
            index = b * per_block + r
            cells = shown[index] if index < len(shown) else [Text("") for _ in _AGENT_HEADERS]
            row.extend([Text(""), *cells] if b else cells)
        table_rows.append(row)
    spacer = [" "] if blocks > 1 else []
    notes = [f"{len(shown)} of {len(agents)} shown" if len(shown) < len(agents) else ""]
    notes.append("not ready first, then longest in state")
    if logged_out:
        notes.append(f"{logged_out} logged out")
    section = _Section(
        title="Agents",
        headers=[*_AGENT_HEADERS, *(spacer + list(_AGENT_HEADERS)) * (blocks - 1)],
        rows=table_rows,
        justify=[False, False, False, True] + [False, False, False, False, True] * (blocks - 1),
        priorities=[-1] * (4 + 5 * (blocks - 1)),
        note="; ".join(n for n in notes if n),
    )
    section.shown_rows = len(table_rows)
    return section


_ORDER = ("voice", "groups", "digital", "agents")
"""Which sections get the lines first when the terminal is short."""


def _allot(needed: Mapping[str, int], budget: int) -> dict[str, int]:
    """Rows per section: each in order of importance takes what it needs of what is left; a
    section without room for one row (with its title and column titles) gets none."""
    rows: dict[str, int] = {}
    for name in _ORDER:
        if needed.get(name):
            rows[name] = max(0, min(needed[name], budget - 2))
            budget -= 2 + rows[name] if rows[name] else 0
    return rows


def render_board(
    values: ValueReader,
    objects: Sequence[BoardObjects],
    now_ms: int,
    header: str = "",
    *,
    width: int = 80,
    height: int | None = None,
) -> RenderableType:
    """The board of ``values`` read at ``now_ms``, fitted to ``width`` columns and ``height`` lines (None: as many
    as it takes): voice queues, chat and email queues, agent groups and agents."""
    voice = Media.VOICE
    sections = {
        "voice": _object_section(
            values,
            "Voice queues",
            "queue",
            QUEUE_COLUMNS,
            [(t.tenant, q, voice) for t in objects for q in t.queues],
        ),
        "digital": _object_section(
            values,
            "Chat and email queues",
            "queue",
            DIGITAL_COLUMNS,
            [(t.tenant, q, m) for t in objects for q, m in t.digital_queues],
        ),
        "groups": _object_section(
            values,
            "Agent groups",
            "agent_group",
            GROUP_COLUMNS,
            [(t.tenant, g, voice) for t in objects for g in t.agent_groups],
        ),
    }
    agents, logged_out = _agents(values, objects, now_ms)
    blocks = _agent_blocks(agents, width)
    needed = {name: len(s.rows) for name, s in sections.items()}
    needed["agents"] = -(-len(agents) // blocks) if any(t.agents for t in objects) else 0
    if height is not None and height < 2:
        header = ""  # the one line says what is missing
    if height is None:
        rows = dict(needed)
    else:
        budget = height - (1 if header else 0)
        rows = _allot(needed, budget)
        if any(needed[n] and not rows[n] for n in rows):
            rows = _allot(needed, budget - 1)  # room for the line that says what is missing
    sections["agents"] = _agent_section(agents, blocks, max(rows.get("agents", 0), 1), logged_out)
    parts: list[RenderableType] = []
    if header:
        parts.append(Text(header, style="dim", no_wrap=True, overflow="ellipsis"))
    left_out: list[str] = []
    for name in ("voice", "digital", "groups", "agents"):
        section = sections[name]
        if not needed[name]:
            continue
        if not rows[name]:
            left_out.append(section.title.lower())
            continue
        if name != "agents":
            section.shown_rows = rows[name]
        parts.extend(section.render(width))
    if left_out:
        parts.append(
            Text(
                "Too small to show: " + ", ".join(left_out),
                style="yellow",
                no_wrap=True,
                overflow="ellipsis",
            )
        )
    return Group(*parts)
