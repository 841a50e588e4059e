"""The security suite's ledger: every attack a test makes is one recorded attempt of a kind,
and every attempt must fail.

A test calls ``attempts.refused(kind, what, response, statuses)`` (or ``attempts.record``
with its own verdict) for each try; a try that got through fails the test at once, naming it.
At the end of the run the suite prints how many attempts it made per kind and how many got
through (always none on a green run), so a reader sees what was tried, not only that tests
passed.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable

import httpx


@dataclasses.dataclass
class Ledger:
    """The attempts of the whole run, per kind."""

    made: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    got_through: list[str] = dataclasses.field(default_factory=list)

    def record(self, kind: str, what: str, *, failed: bool, detail: str = "") -> None:
        """Count one attempt; raise AssertionError when it was not refused."""
        self.made[kind] += 1
        if not failed:
            line = f"[{kind}] {what} got through" + (f": {detail}" if detail else "")
            self.got_through.append(line)
            raise AssertionError(line)

    def refused(
        self, kind: str, what: str, response: httpx.Response, statuses: Iterable[int]
    ) -> None:
        """One HTTP attempt, refused when the response's status is one of ``statuses``."""
        allowed = set(statuses)
        self.record(
            kind,
            what,
            failed=response.status_code in allowed,
            detail=f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} (expected one of {sorted(allowed)}): {response.text[:200]}",
        )

    def report(self) -> list[str]:
        total = sum(self.made.values())
        lines = [f"security suite: {total} attempts, {len(self.got_through)} got through"]
        lines += [f"  {kind:<32} {count:>6}" for kind, count in sorted(self.made.items())]
        lines += [f"  GOT THROUGH: {line}" for line in self.got_through]
        return lines


LEDGER = Ledger()
