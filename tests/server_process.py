"""Servers of a test's own: ``redis-server`` and ``nats-server`` processes it may stop and kill.

The shared servers (``redis_url``, ``nats_url``) serve every test at once and must never go
away; a test of outages or of a Redis Cluster starts its own here, on free loopback ports, in a
temporary directory, and stops them in its teardown. Each server can be stopped and started
again on the same port with the same data directory (what an operator's restart does), or
frozen with SIGSTOP (a server that stops answering without closing its connections).

Without the program the fixtures skip, except when ``CI`` is set: there they fail, since a
green CI must mean these tests ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import redis.exceptions

START_TIMEOUT_S = 20.0


def require_program(name: str) -> str:
    """The path of ``name``; skip without it (fail under CI)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed; the tests of servers of their own need it"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run them", pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(
    what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {_tail(log)}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer within {START_TIMEOUT_S:g} s: {_tail(log)}")


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL when the test process dies, so that a test run
    killed by a timeout or by hand leaves no server behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-2000:]
    return "(no log)"


class ServerProcess:
    """One server process on a fixed port and data directory, restartable."""

    name = "server"

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.log = directory / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        """Start the server and wait until it answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        _wait_until(f"{self.name} on port {self.port}", self.ready, self.process, self.log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and wait for it."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def freeze(self) -> None:
        """SIGSTOP: the port stays open and connections stay up, but nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class RedisServer(ServerProcess):
    """A ``redis-server`` with an append-only file synced on every write, so a restart (even
    after SIGKILL) finds every acknowledged write again."""

    name = "redis"

    def __init__(self, directory: Path, port: int, *extra: str) -> None:
        super().__init__(directory, port)
        self.program = require_program("redis-server")
        self.extra = extra

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.program,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            *self.extra,
        ]

    def ready(self) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:  # refused, or still loading its data
            return False
        finally:
            client.close()


class NatsServer(ServerProcess):
    """A ``nats-server -js`` with file storage in its directory."""

    name = "nats"

    def __init__(self, directory: Path, port: int) -> None:
        super().__init__(directory, port)
        self.program = require_program("nats-server")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        store = self.directory / "jetstream"
        return [self.program, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(store)]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4) == b"INFO"
        except OSError:
            return False


class RedisCluster:
    """A Redis Cluster of ``masters`` redis-server processes, each with ``replicas`` replicas,
    all slots assigned, on loopback; ``url`` is the ``redis+cluster://`` URL of its nodes."""

    def __init__(self, directory: Path, masters: int = 3, replicas: int = 0) -> None:
        self.replicas = replicas
        self.nodes = [
            RedisServer(
                directory / f"node{n}",
                free_port(),
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                str(free_port()),
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            )
            for n in range(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                require_program("redis-cli"),
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._wait_until_ok()

    def _wait_until_ok(self) -> None:
        """Every node must agree that all slots are served before a test uses the cluster."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if all(self._state_ok(node.port) for node in self.nodes):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def _state_ok(self, port: int) -> bool:
        """The node sees every slot served and, if it is a master, its replicas attached."""
        client = redis.Redis(port=port, socket_timeout=1)
        try:
            info = client.execute_command("CLUSTER", "INFO")
            replication = client.info("replication")
        finally:
            client.close()
        text = info.decode() if isinstance(info, bytes) else str(info)
        attached = replication["role"] != "master" or (
            replication["connected_slaves"] >= self.replicas
        )
        return "cluster_state:ok" in text and attached

    def replicated(self, port: int) -> bool:
        """Every replica of the master on ``port`` has all of its writes."""
        client = redis.Redis(port=port, socket_timeout=1)
        try:
            info = client.info("replication")
        finally:
            client.close()
        offset = info["master_repl_offset"]
        replicas = [value for key, value in info.items() if key.startswith("slave")]
        return len(replicas) >= self.replicas and all(r["offset"] == offset for r in replicas)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
