"""``wallboard user`` and ``wallboard keys`` as a user runs them: users added with a generated
password, listed, given a token that works on the API, re-keyed, re-passworded, deleted."""

from __future__ import annotations

import re

import httpx
from prometheus_client import CollectorRegistry

from cli_process import assert_refused, wallboard
from wallboard.db.database import open_database
from wallboard.settings import Settings
from wallboard.web.app import create_app


async def status_of(url: str, **auth: str) -> int:
    async with open_database(url) as database:
        app = create_app(Settings(), database=database, registry=CollectorRegistry())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://wallboard.test"
        ) as client:
            if "password" in auth:
                response = await client.post("/api/v1/auth/login", json=auth)
            else:
                response = await client.get(
                    "/api/v1/tenants/acme/dashboards",
                    headers={"Authorization": f"Bearer {auth['token']}"},
                )
            return response.status_code


def _ok(*args: str) -> str:
    result = wallboard(*args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def _password(output: str) -> str:
    found = re.search(r"^password: (\S+)$", output, re.M)
    assert found is not None, output
    return found[1]


async def test_users_tokens_and_keys_from_the_command_line(migrated_sqlite_url: str) -> None:
    url = migrated_sqlite_url
    _ok("tenant", "init", "acme", "--url", url)
    added = _ok(
        "user", "add", "ops", "--tenant", "acme", "--role", "viewer", "--generate", "--url", url
    )
    password = _password(added)
    assert "user ops added to tenant acme (viewer)" in added
    assert _ok("user", "list", "--url", url) == "acme\tops\tviewer\n"
    assert await status_of(url, username="ops", password=password) == 200

    token = _ok("user", "token", "ops", "--name", "nightly", "--days", "5", "--url", url).strip()
    assert token.count(".") == 2
    assert await status_of(url, token=token) == 200
    rotated = _ok("keys", "rotate", "--retire-old", "--url", url)
    assert rotated.startswith("new signing key ")
    assert "retired " in rotated
    assert await status_of(url, token=token) == 401

    new_password = _password(_ok("user", "passwd", "ops", "--generate", "--url", url))
    assert await status_of(url, username="ops", password=password) == 401
    assert await status_of(url, username="ops", password=new_password) == 200

    assert_refused(
        wallboard(
            "user",
            "add",
            "x",
            "--tenant",
            "nowhere",
            "--role",
            "viewer",
            "--generate",
            "--url",
            url,
        ),
        "nowhere",
    )
    assert_refused(
        wallboard(
            "user", "add", "ops", "--tenant", "acme", "--role", "viewer", "--generate", "--url", url
        ),
        "ops",
    )
    unknown = wallboard("user", "add", "y", "--tenant", "acme", "--role", "root", "--url", url)
    assert unknown.returncode == 2
    assert "root" in unknown.stderr
    _ok("user", "delete", "ops", "--url", url)
    assert _ok("user", "list", "--url", url) == ""
    assert_refused(wallboard("user", "delete", "ops", "--url", url), "ops")
