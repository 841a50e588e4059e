"""The production-like run of docs/operations.md, command for command: every service as its own
process on real NATS, Redis and PostgreSQL."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from database_fixtures import create_postgres_database, drop_postgres_database, new_database_name
from server_process import free_port
from wallboard.collector.service import shard
from wallboard.core.ids import TenantId
from wallboard.store.redis import RedisValueStore

DOC = Path(__file__).parent.parent / "docs" / "operations.md"
WALLBOARD = str(Path(sys.executable).parent / "wallboard")
TENANTS = ("acme", "globex")

pytestmark = [pytest.mark.timeout(600)]


def documented_commands() -> list[str]:
    text = DOC.read_text()
    block = text.split("<!-- production-run: begin -->")[1].split("<!-- production-run: end -->")[0]
    lines = block.strip().removeprefix("```sh").removesuffix("```").strip().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


class Run:
    """The documented commands with this test's servers, ports and prefixes."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.ports: dict[str, int] = {}
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.printed: list[str] = []
        """What each command run in the foreground printed."""

    def port(self, documented: str) -> str:
        if documented not in self.ports:
            self.ports[documented] = free_port()
        return str(self.ports[documented])

    def run(self, line: str) -> None:
        # Every 4-digit port of the documented commands gets a free port of its own.
        line = re.sub(r"(?<=[=:\s])(\d{4})(?=\s|$)", lambda m: self.port(m.group(1)), line)
        background = line.endswith("&")
        words = shlex.split(line.removesuffix("&"))
        env = dict(self.env)
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        assert words[0] == "wallboard", line
        argv = [WALLBOARD, *words[1:]]
        name = " ".join(words[1:4])
        if not background:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            self.printed.append(done.stdout)
            return
        with (self.tmp_path / f"{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))

    def output(self, index: int) -> str:
        return (self.tmp_path / f"{index}.log").read_text(errors="replace")

    def stop(self) -> dict[str, int | None]:
        """SIGTERM in the reverse order of starting, as an operator stops a deployment: the
        readers before the sources they read, each awaited."""
        codes = {}
        for index, (name, process) in reversed(list(enumerate(self.processes))):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                codes[f"{index} {name}"] = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
                codes[f"{index} {name}"] = None
        return codes


OPENER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
"""Keeps the session cookie of the administrator's login for the API reads."""


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with OPENER.open(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def wait_until(what: str, check: object, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.25)


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    name = new_database_name()
    url = create_postgres_database(postgres_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_url, name)


def test_the_documented_production_run(
    tmp_path: Path, nats_url: str, redis_url: str, database: str
) -> None:
    prefix = f"prod{uuid.uuid4().hex[:8]}"
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "WALLBOARD_LOG_PREFIX": prefix,
        "WALLBOARD_REDIS_PREFIX": prefix,
        "WALLBOARD_LOG_MAX_BYTES": str(64 * 1024**2),
    }
    run = Run(tmp_path, env)
    exports = {
        "WALLBOARD_NATS_URL": nats_url,
        "WALLBOARD_REDIS_URL": redis_url,
        "WALLBOARD_DATABASE_URL": database,
    }
    try:
        for line in documented_commands():
            if line.startswith("export "):
                name = line.removeprefix("export ").split("=", 1)[0]
                env[name] = exports[name]  # this test's servers, not the documented ones
                continue
            run.run(line)
            time.sleep(0.2)
        names = [name for name, _ in run.processes]
        assert names.count("serve fanout --source") == 4
        assert names.count("serve collector") == 3
        ready = [
            run.ports[str(port)]
            for port in (9101, 9102, 9103, 9104, 9110, 9111, 9112, 9120, 8080, 8898)
        ]

        def all_ready() -> bool:
            for index, (_, process) in enumerate(run.processes):
                assert process.poll() is None, run.output(index)[-3000:]
            return all(get(f"http://127.0.0.1:{port}/readyz")[0] == 200 for port in ready)

        wait_until("every process ready", all_ready)

        async def values() -> dict[str, dict[str, object]]:
            store = await RedisValueStore.connect(redis_url, prefix=prefix)
            try:
                return {t: dict((await store.snapshot(TenantId(t))).values) for t in TENANTS}
            finally:
                await store.close()

        import asyncio

        try:
            wait_until(
                "both tenants' agents in Redis",
                # The day starts with agents logging in; calls come later.
                lambda: all("agent" in v and "tenant" in v for v in asyncio.run(values()).values()),
            )
        except AssertionError:
            seen = {t: sorted(v) for t, v in asyncio.run(values()).items()}
            status = get(f"http://127.0.0.1:{run.ports['9110']}/status")
            raise AssertionError(f"values {seen}; collector 0: {status}") from None

        def collecting(ordinal: int, port: int) -> bool:
            body = get(f"http://127.0.0.1:{port}/status")[1]
            mine = [t for t in TENANTS if shard(t, 2) == ordinal]
            role = str(body.get("role"))
            return f"collecting ordinal {ordinal} of 2" in role and body["tenants"] == len(mine)

        # A standby that started first may hold an ordinal until its collector claims it back
        # (at the standby's next renewal).
        wait_until("ordinal 0 collecting its tenants", lambda: collecting(0, run.ports["9110"]))
        wait_until("ordinal 1 collecting its tenants", lambda: collecting(1, run.ports["9111"]))
        standby = f"http://127.0.0.1:{run.ports['9112']}/readyz"
        wait_until("the standby standing by", lambda: "standing by" in json.dumps(get(standby)[1]))
        api = f"http://127.0.0.1:{run.ports['8080']}/api/v1"
        assert get(f"{api}/tenants/acme/dashboards")[0] == 401  # nothing without a login
        (password,) = re.findall(r"^password: (\S+)$", "".join(run.printed), re.MULTILINE)
        login = urllib.request.Request(
            f"{api}/auth/login",
            data=json.dumps({"username": "admin", "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with OPENER.open(login, timeout=5) as answer:
            assert json.loads(answer.read())["tenant"] == "acme"
        status, dashboards = get(f"{api}/tenants/acme/dashboards")
        assert status == 200, dashboards
        assert dashboards["items"]  # the dashboards tenant init seeded

        def reported() -> dict[str, Any]:
            code, body = get(f"http://127.0.0.1:{run.ports['8080']}/api/v1/status")
            assert code == 200, body
            return dict(body)

        def both_collectors_fresh() -> bool:
            body = reported()
            reporting = sorted(c["name"] for c in body["collectors"] if c["reporting"])
            voice = [s for s in body["sources"] if s["stream"] == "voice"]
            return (
                reporting == ["0", "1"]
                and bool(voice)
                and voice[0]["newestEventMs"] is not None
                and not voice[0]["stale"]
            )

        # What the web tier says of the collectors, from their records in Redis alone.
        wait_until("the web tier's status showing both collectors", both_collectors_fresh)
        body = reported()
        assert body["statisticsOpen"] > 0
        tenants = {c["name"]: c["tenants"] for c in body["collectors"]}
        assert tenants == {str(o): sum(shard(t, 2) == o for t in TENANTS) for o in (0, 1)}
    finally:
        codes = run.stop()
    assert all(code == 0 for code in codes.values()), codes
