"""Every command under hostile arguments, input files and settings: a result or a named error
(``error: …``, exit 2), never a traceback, and nothing read beyond what was given.

Run in-process (typer's CliRunner) with a fixed, small budget each, derandomized, so CI time is
bounded and a failure reproduces; the process-level tests of each command live beside it.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from wallboard.cli import app
from wallboard.settings import PREFIX, Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "adapters"
QUEUE_LOG = (FIXTURES / "queue_log_scenarios.log").read_bytes()
BUDGET = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    # Without the explain phase: its tracer makes every run of a command several times slower.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PLATFORMS = ["asterisk-queue-log", "asterisk-ami", "freeswitch", "amazon-connect", "twilio"]


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    """Invoke ``wallboard ARGS`` in a scratch directory (a fuzzed relative path lands there) and
    check the outcome is a result or a named refusal."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            result = CliRunner().invoke(app, args, env=env)
        finally:
            os.chdir(here)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{args}: {result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
    if result.exit_code == 2:
        assert "error" in result.output.lower(), (args, result.output)
    return result


# --- text that looks like what each input is made of ---------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
_WORDS = st.sampled_from(
    ["", "0", "-1", "1e309", "nan", "inf", "-inf", "9" * 30, "1.5", " ", "\x00", "é", "../x"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


def _queue_log_lines() -> st.SearchStrategy[bytes]:
    fields = st.lists(st.one_of(_WORDS, _TEXT.filter(lambda t: "\n" not in t)), max_size=9)
    line = fields.map(lambda parts: "|".join(parts))
    real = st.sampled_from(QUEUE_LOG.decode().splitlines())
    return st.lists(real | line, max_size=20).map(lambda ls: "\n".join(ls).encode())


def _file_content() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2000),
        _JSON.map(lambda v: json.dumps(v).encode()),
        _queue_log_lines(),
        st.sampled_from([b"[" * 5000, b"{" * 5000, b'{"a":' * 3000, b"\xff\xfe\x00"]),
    )


@pytest.fixture(scope="module")
def events_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "events.jsonl"
    log = out.parent / "queue_log"
    log.write_bytes(QUEUE_LOG)
    run(["import", "asterisk-queue-log", str(log), "--tenant", "t1", "--out", str(out)])
    return out


# --- input files -------------------------------------------------------------------------------


@BUDGET
@given(content=_file_content())
def test_stats_reads_any_event_log(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "events.jsonl"
    log.write_bytes(content)
    run(["stats", "--events", str(log)])


@BUDGET
@given(option=st.sampled_from(["--objects", "--definitions"]), content=_file_content())
@example(option="--objects", content=b"!!python/object/apply:os.system [true]")
@example(option="--definitions", content=b"a: &a [*a]")
def test_stats_reads_any_objects_or_definitions_file(
    tmp_path: Path, events_log: Path, option: str, content: bytes
) -> None:
    given_file = tmp_path / "input.yaml"
    given_file.write_bytes(content)
    run(["stats", "--events", str(events_log), option, str(given_file)])


@BUDGET
@given(platform=st.sampled_from(PLATFORMS), content=_file_content())
def test_every_importer_reads_any_file(tmp_path: Path, platform: str, content: bytes) -> None:
    data = tmp_path / "input"
    data.write_bytes(content)
    out = tmp_path / "out.jsonl"
    result = run(["import", platform, str(data), "--tenant", "t1", "--out", str(out)])
    summaries = [line for line in result.stderr.splitlines() if line.startswith("{")]
    if summaries:
        summary = json.loads(summaries[-1])
        assert sum(summary["bad"].values()) <= summary["records"], summary
        assert summary["events"] == len(out.read_bytes().splitlines())


_DURATION = st.fixed_dictionaries(
    {"mean": st.one_of(st.floats(), st.integers(), _WORDS)},
    optional={"dist": st.sampled_from(["exponential", "lognormal", "constant", "x"]),
              "sd": st.one_of(st.floats(), st.integers())},
)  # fmt: skip
_QUEUE = st.fixed_dictionaries(
    {"id": st.sampled_from(["q", "q2", ""]), "handle_time": _DURATION},
    optional={
        "arrivals": st.fixed_dictionaries({"per_hour": st.one_of(st.floats(), st.integers())}),
        "patience": _DURATION,
        "media": st.sampled_from(["voice", "chat", "email", "fax"]),
        "transfer": st.fixed_dictionaries(
            {"probability": st.floats(), "to": st.lists(st.sampled_from(["q", "q2"]))}
        ),
    },
)
_SCENARIO = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["fuzz", ""]),
        "tenants": st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["t", "t2"]), "queues": st.lists(_QUEUE, max_size=2)},
                optional={
                    "groups": st.lists(
                        st.fixed_dictionaries(
                            {
                                "id": st.just("g"),
                                "agents": st.integers(min_value=-5, max_value=50) | st.just(10**7),
                                "skills": st.just({"q": 1}),
                            },
                            optional={
                                "shift": st.fixed_dictionaries(
                                    {"start": st.floats(), "end": st.floats()}
                                )
                            },
                        ),
                        max_size=2,
                    )
                },
            ),
            max_size=2,
        ),
    },
    optional={
        "start": st.datetimes().map(lambda d: d.isoformat() + "Z") | _WORDS,
        "profiles": st.dictionaries(
            st.just("p"),
            st.fixed_dictionaries({}, optional={"weights": st.lists(st.floats()), "csv": _WORDS}),
        ),
    },
)


@BUDGET
@given(scenario=_SCENARIO | _JSON)
def test_simulate_reads_any_scenario(tmp_path: Path, scenario: Any) -> None:
    file = tmp_path / "scenario.yaml"
    file.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    run(["simulate", "--scenario", str(file), "--hours", "0.05", "--out", str(tmp_path / "o")])


# --- options and settings ----------------------------------------------------------------------

_OPTION_VALUE = _WORDS | st.text(alphabet=string.printable, max_size=30)


@BUDGET
@given(
    option=st.sampled_from(["--at", "--time-zone", "--lateness-ms", "--format"]),
    value=_OPTION_VALUE,
)
@example(option="--at", value="99999999999999999999999")
@example(option="--time-zone", value="Mars/Olympus")
def test_stats_options(events_log: Path, option: str, value: str) -> None:
    run(["stats", "--events", str(events_log), option, value])


@BUDGET
@given(
    option=st.sampled_from(
        ["--hours", "--seed", "--agents", "--calls-per-hour", "--aht", "--patience"]
    ),
    value=_OPTION_VALUE,
)
def test_simulate_options(tmp_path: Path, option: str, value: str) -> None:
    scenario = (
        "erlang" if option in ("--agents", "--calls-per-hour", "--aht", "--patience") else "demo"
    )
    hours = [] if option == "--hours" else ["--hours", "0.02"]
    run(["simulate", "--scenario", scenario, *hours, option, value, "--out", str(tmp_path / "o")])


@BUDGET
@given(
    platform=st.sampled_from(PLATFORMS),
    option=st.sampled_from(["--tenant", "--source", "--timezone", "--out"]),
    value=_OPTION_VALUE,
)
def test_import_options(tmp_path: Path, platform: str, option: str, value: str) -> None:
    data = tmp_path / "input"
    data.write_bytes(QUEUE_LOG)
    if option == "--timezone" and platform != "asterisk-queue-log":
        return
    args = {"--tenant": "t1", "--out": str(tmp_path / "o.jsonl"), option: value}
    flat = [part for pair in args.items() for part in pair]
    run(["import", platform, str(data), *flat])


@BUDGET
@given(
    name=st.sampled_from([f.name for f in Settings.__dataclass_fields__.values()]),
    value=_OPTION_VALUE,
)
def test_settings_accept_or_name_any_value(name: str, value: str) -> None:
    value = value.replace("\x00", "")  # an environment cannot hold NUL
    variable = PREFIX + name.upper()
    result = run(["settings"], env={variable: value})
    if result.exit_code == 2:
        assert variable in result.output


@BUDGET
@given(
    option=st.sampled_from(["--speed", "--seed", "--duration"]),
    value=_OPTION_VALUE | st.sampled_from(["1e300", "10001", "0.001", "inf", "-0.5"]),
)
def test_demo_options(option: str, value: str) -> None:
    # A valid --duration runs that long: only values that must be refused are tried.
    if option == "--duration":
        try:
            if 0 <= float(value) <= 366 * 86_400:
                return
        except ValueError:
            pass
    args = {"--duration": "0", option: value}
    run(["demo", "--once", *[part for pair in args.items() for part in pair]])


@BUDGET
@given(
    option=st.sampled_from(["TENANT", "--mode", "--display-name", "--time-zone"]),
    value=_OPTION_VALUE,
)
@example(option="--display-name", value="nul\x00byte")
@example(option="TENANT", value="-acme")
def test_tenant_init_options(migrated_sqlite_url: str, option: str, value: str) -> None:
    # check-diff reads only, so one database serves every example.
    args = {"--mode": "check-diff", "--url": migrated_sqlite_url}
    tenant = "acme"
    if option == "TENANT":
        tenant = value
    else:
        args[option] = value
    options = [part for pair in args.items() for part in pair]
    result = run(["tenant", "init", *options, "--", tenant])
    if option != "--mode":
        assert result.exit_code in (1, 2), result.output  # a diff to show, or a named refusal
