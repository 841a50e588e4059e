"""Login throttling: after ``failures`` failed logins of a username or from a client address,
each further attempt must wait 1 s, doubling with every failure, up to a maximum.

Kept in the memory of each web process (bounded: the least recently failed keys are forgotten
first). With several replicas an attacker gets at most replicas times the attempts, still
exponentially slowed; a success clears the username's count.
"""

from __future__ import annotations

import collections
import dataclasses
import math

from prometheus_client import REGISTRY, CollectorRegistry

from wallboard.core.clock import Clock
from wallboard.ops.metrics import counter

MAX_KEYS = 100_000


@dataclasses.dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        clock: Clock,
        *,
        failures: int,
        max_wait_s: float,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._clock = clock
        self._allowed = failures
        self._max_wait = max_wait_s
        self._records: collections.OrderedDict[str, _Record] = collections.OrderedDict()
        self.refused = counter(
            "web",
            "login_throttled",
            "Login attempts refused because the username or client address failed too often.",
            registry=registry,
        )
        self.failed = counter(
            "web",
            "login_failures",
            "Failed login attempts (unknown user, wrong password, disabled user).",
            registry=registry,
        )

    @staticmethod
    def keys(username: str, client: str) -> tuple[str, str]:
        return f"user:{username.lower()}", f"client:{client}"

    def wait(self, username: str, client: str) -> float:
        """Seconds the caller must wait before trying again (0: may try now)."""
        now = self._clock.monotonic()
        longest = 0.0
        for key in self.keys(username, client):
            record = self._records.get(key)
            if record is not None and record.locked_until > now:
                longest = max(longest, record.locked_until - now)
        if longest > 0:
            self.refused.inc()
        return longest

    def failure(self, username: str, client: str) -> None:
        self.failed.inc()
        now = self._clock.monotonic()
        for key in self.keys(username, client):
            record = self._records.pop(key, None) or _Record()
            record.failures += 1
            beyond = record.failures - self._allowed
            if beyond >= 0:
                record.locked_until = now + min(self._max_wait, math.ldexp(1.0, min(beyond, 30)))
            self._records[key] = record
            while len(self._records) > MAX_KEYS:
                self._records.popitem(last=False)

    def success(self, username: str) -> None:
        self._records.pop(self.keys(username, "")[0], None)
