"""``wallboard config`` as a user runs it: import and export files, errors naming the line
and field with nothing written, scenarios and adapters' recorded data as configuration; and
``wallboard serve config`` as its own process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from cli_process import assert_refused, wallboard
from database_fixtures import run_blocking
from wallboard.core.ids import TenantId
from wallboard.db.database import open_database
from wallboard.identity.users import add_user
from wallboard.web.tenant_init import Mode, init_tenant

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"
PASSWORD = "correct horse battery"


@pytest.fixture
def url(migrated_sqlite_url: str) -> str:
    async def seed() -> None:
        async with open_database(migrated_sqlite_url) as database:
            await init_tenant(database, "acme", Mode.SETUP)
            async with database.sessions() as session:
                for username, role in (("admin", "administrator"), ("sup", "supervisor")):
                    await add_user(
                        session, TenantId("acme"), username, password=PASSWORD, roles=[role]
                    )
                await session.commit()

    run_blocking(seed())
    return migrated_sqlite_url


def test_a_scenario_is_imported_exported_and_a_wrong_line_refused(url: str, tmp_path: Path) -> None:
    document = tmp_path / "acme.yaml"
    made = wallboard("config", "from-scenario", "demo", "--tenant", "acme", "-o", document)
    assert made.returncode == 0, made.stderr
    objects = yaml.safe_load(document.read_text())["objects"]
    by_key = {(o["type"], o["name"]): o for o in objects}
    assert by_key["access_group", "everything"]["attributes"] == {
        "members": ["admin"],
        "all_objects": True,
    }
    assert by_key["access_group", "floor-retail-supervisors"]["attributes"] == {
        "members": ["supervisor"],
        "folders": ["floor-retail"],
    }
    assert {name for kind, name in by_key if kind == "folder"} == {
        "floor-retail",
        "floor-loans",
        "floor-digital",
    }
    assert by_key["agent", "retail-001"]["folder"] == "floor-retail"
    assert by_key["queue", "retail"]["folder"] == "floor-retail"

    imported = wallboard("config", "import", document, "--tenant", "acme", "--url", url)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == f"tenant acme: {len(objects)} created, 0 changed, 0 unchanged"
    exported = tmp_path / "acme.csv"
    out = wallboard("config", "export", "--tenant", "acme", "--url", url, "-o", exported)
    assert out.returncode == 0, out.stderr
    lines = exported.read_text().splitlines()
    assert len(lines) == len(objects) + 1
    assert "agent,retail-001,,floor-retail,,,retail=8;loans=3," in exported.read_text()

    at = next(i for i, text in enumerate(lines) if text.startswith("agent,retail-001,"))
    lines[at] = lines[at].replace("retail=8", "retail=eleven")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("\n".join(lines) + "\n")
    refused = wallboard("config", "import", wrong, "--tenant", "acme", "--url", url)
    assert_refused(refused, f"line {at + 1}.attributes.skills.retail")
    lines[at] = lines[at].replace("retail=eleven", "retail=9")
    lines[at + 1] = lines[at + 1].replace("floor-retail", "floor-nowhere")
    wrong.write_text("\n".join(lines) + "\n")
    refused = wallboard("config", "import", wrong, "--tenant", "acme", "--url", url)
    assert_refused(refused, f"line {at + 2}.folder", "floor-nowhere")
    again = wallboard("config", "export", "--tenant", "acme", "--url", url, "--format", "csv")
    assert again.stdout == exported.read_text()  # nothing of the refused imports was written
    missing = wallboard("config", "import", document, "--tenant", "nobody", "--url", url)
    assert_refused(missing, "nobody")


def test_an_asterisk_queue_log_gives_its_queues_and_members() -> None:
    result = wallboard(
        "config", "discover", "asterisk-queue-log", FIXTURES / "queue_log_scenarios.log"
    )
    assert result.returncode == 0, result.stderr
    objects = yaml.safe_load(result.stdout)["objects"]
    queues = {o["name"]: o["attributes"] for o in objects if o["type"] == "queue"}
    assert queues == {"sales": {"agents": ["PJSIP/bob"]}, "support": {"agents": ["PJSIP/bob"]}}
    agents = {o["name"]: o["attributes"] for o in objects if o["type"] == "agent"}
    assert agents["Agent/1001"] == {"dns": ["PJSIP/1001-00000001"]}
    assert set(agents) == {"Agent/1001", "Agent/1002", "PJSIP/bob"}


def test_an_amazon_connect_queue_is_discovered(tmp_path: Path) -> None:
    arn = "arn:aws:connect:us-west-2:1:instance/i"
    records = [
        {
            "EventType": "LOGIN",
            "EventId": "e1",
            "AgentARN": f"{arn}/agent/ann",
            "EventTimestamp": "2021-08-04T17:00:00.000Z",
            "CurrentAgentSnapshot": {
                "AgentStatus": {"Name": "Available"},
                "Configuration": {
                    "RoutingProfile": {
                        "InboundQueues": [
                            {"ARN": f"{arn}/queue/billing"},
                            {"ARN": f"{arn}/queue/agent/ann"},
                        ],
                        "Concurrency": [{"Channel": "VOICE", "MaximumSlots": 1}],
                    }
                },
            },
        },
        {
            "detail-type": "Amazon Connect Contact Event",
            "source": "aws.connect",
            "time": "2021-08-04T17:01:00Z",
            "detail": {
                "eventType": "QUEUED",
                "contactId": "c1",
                "channel": "VOICE",
                "queueInfo": {
                    "queueArn": f"{arn}/queue/sales",
                    "enqueueTimestamp": "2021-08-04T17:01:00.000Z",
                },
            },
        },
    ]
    data = tmp_path / "connect.jsonl"
    data.write_text("\n".join(json.dumps(record) for record in records))
    result = wallboard("config", "discover", "amazon-connect", data)
    assert result.returncode == 0, result.stderr
    objects = yaml.safe_load(result.stdout)["objects"]
    assert objects == [
        {"type": "agent", "name": "ann", "attributes": {}},
        {"type": "queue", "name": "billing", "attributes": {"agents": ["ann"]}},
        {"type": "queue", "name": "sales", "attributes": {}},
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token_of(user: str, url: str) -> dict[str, str]:
    issued = wallboard("user", "token", user, "--name", "config test", "--url", url)
    assert issued.returncode == 0, issued.stderr
    return {"Authorization": f"Bearer {issued.stdout.strip()}"}


def test_serve_config_serves_the_config_api_alone(url: str, tmp_path: Path) -> None:
    admin, supervisor = token_of("admin", url), token_of("sup", url)
    api_port, ops_port = free_port(), free_port()
    env = {
        **os.environ,
        "WALLBOARD_DATABASE_URL": url,
        "WALLBOARD_CONFIG_PORT": str(api_port),
        "WALLBOARD_CONFIG_METRICS_PORT": str(ops_port),
    }
    log = tmp_path / "config.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wallboard.cli", "serve", "config"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api, ops = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ops_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                httpx.get(f"{api}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.05)
        objects = f"{api}/api/v1/config/acme/objects"
        skill = {"type": "skill", "name": "sales"}
        assert httpx.post(objects, json=skill).status_code == 401
        refused = httpx.post(objects, json=skill, headers=supervisor)
        assert refused.status_code == 403, refused.text
        assert "manage-configuration" in refused.json()["message"]
        created = httpx.post(objects, json=skill, headers=admin)
        assert created.status_code == 201, created.text
        listed = httpx.get(objects, headers=admin).json()
        assert [o["name"] for o in listed["items"]] == ["sales"]
        # Without manage-configuration only widget objects are read: a skill is not one.
        assert httpx.get(objects, headers=supervisor).json()["items"] == []
        assert httpx.get(f"{api}/api/v1/tenants/acme/templates", headers=admin).status_code == 404
        assert httpx.get(f"{api}/readyz").json()["checks"] == {"schema": "ok"}
        metrics = httpx.get(f"{ops}/metrics")
        assert metrics.status_code == 200
        assert 'route="/api/v1/config/{tenant}/objects"' in metrics.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
