"""Running the ``wallboard`` command as its own process, as a user does: exit code, stdout and
stderr as they appear in a terminal (a traceback there is a defect)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def wallboard(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``wallboard ARGS`` to its end; ``env`` adds to (or, with empty values, removes
    from) this process's environment."""
    environ = dict(os.environ)
    for key, value in (env or {}).items():
        if value:
            environ[key] = value
        else:
            environ.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "wallboard.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Bad input: exit 2, ``error: …`` on stderr naming each of ``words``, no traceback."""
    shown = f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert "error" in result.stderr.lower(), shown
    for word in words:
        assert word in result.stderr, shown
