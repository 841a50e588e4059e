"""The internet-facing webhook sources as a hostile caller meets them: credentials, body limits,
bounded memory, poison records, and which port serves what. Process-level where the defect was
seen at process level (``wallboard source twilio|amazon-connect`` on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from test_cloud_and_freeswitch import callback
from webhook_process import (
    WireSubscriber,
    command,
    delivery,
    environment,
    queued,
    raw_request,
    webhook_source,
)

from wallboard.adapters.amazon_connect import (
    MAX_JSON_DEPTH,
    AmazonConnectTranslator,
    firehose_router,
    iter_json_records,
)
from wallboard.adapters.base import BadRecord, BoundedMap, line
from wallboard.adapters.twilio import (
    KNOWN_EVENT_TYPES,
    TwilioTranslator,
    parse_form,
    signature_matches,
    taskrouter_router,
    twilio_signature,
)
from wallboard.core.errors import ConfigError
from wallboard.core.events import AgentLogin, CallQueued, Event
from wallboard.ops.health import ops_router

PUBLIC_URL = "https://wb.example.com/twilio/taskrouter/events"
TWILIO_PATH = "/twilio/taskrouter/events"
FIREHOSE_PATH = "/amazon-connect/firehose"
FORM = "application/x-www-form-urlencoded"


def deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- credentials ------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["twilio", "amazon-connect"])
def test_a_webhook_source_without_credentials_refuses_to_start(platform: str) -> None:
    done = subprocess.run(
        command(platform), capture_output=True, env=environment(), timeout=60, check=False
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "--insecure-no-auth" in stderr
    assert "Traceback" not in stderr
    assert b"serving" not in done.stdout


def test_insecure_no_auth_is_logged_at_start_and_shown_on_readyz(tmp_path: Path) -> None:
    with webhook_source("twilio", "--insecure-no-auth", tmp_path=tmp_path) as running:
        ready = httpx.get(f"http://127.0.0.1:{running.metrics}/readyz", timeout=10)
        form = callback(
            "worker.activity.update", 100, WorkerName="bob", WorkerActivityName="Available"
        )
        unsigned = httpx.post(
            f"http://127.0.0.1:{running.webhook}{TWILIO_PATH}",
            content=urlencode(form),
            headers={"Content-Type": FORM},
            timeout=10,
        )
    assert ready.status_code == 200
    assert "--insecure-no-auth" in ready.json()["warnings"]["webhook_auth"]
    assert unsigned.status_code == 204
    assert "WARNING" in running.stderr
    assert "--insecure-no-auth" in running.stderr


def test_a_forged_callback_is_refused_and_a_signed_one_published(tmp_path: Path) -> None:
    args = ("--public-url", PUBLIC_URL)
    with webhook_source("twilio", *args, tmp_path=tmp_path, TWILIO_AUTH_TOKEN="s3cr3t") as running:
        wire = WireSubscriber(running.wire)
        url = f"http://127.0.0.1:{running.webhook}{TWILIO_PATH}"
        mallory = callback(
            "worker.activity.update", 100, WorkerName="mallory", WorkerActivityName="Available"
        )
        alice = callback(
            "worker.activity.update", 101, WorkerName="alice", WorkerActivityName="Available"
        )

        def post(form: dict[str, str], token: str | None) -> httpx.Response:
            headers = {"Content-Type": FORM}
            if token is not None:
                headers["X-Twilio-Signature"] = twilio_signature(token, PUBLIC_URL, form)
            return httpx.post(url, content=urlencode(form), headers=headers)

        answers = [post(mallory, None), post(mallory, "guess"), post(alice, "s3cr3t")]
        events = wire.collect()
        wire.close()
    assert [a.status_code for a in answers] == [403, 403, 204]
    assert "X-Twilio-Signature" in answers[0].text
    logins = [e.agent for e in events if isinstance(e, AgentLogin)]
    assert logins == ["alice"]
    assert "s3cr3t" not in running.stderr


def test_firehose_checks_the_access_key(tmp_path: Path) -> None:
    with webhook_source("amazon-connect", tmp_path=tmp_path, FIREHOSE_ACCESS_KEY="k3y") as running:
        url = f"http://127.0.0.1:{running.webhook}{FIREHOSE_PATH}"
        body = delivery("r1", [queued("c1")])
        wrong = httpx.post(url, content=body, headers={"X-Amz-Firehose-Access-Key": "k3z"})
        missing = httpx.post(url, content=body)
        right = httpx.post(url, content=body, headers={"X-Amz-Firehose-Access-Key": "k3y"})
    assert [wrong.status_code, missing.status_code, right.status_code] == [401, 401, 200]
    assert running.summary()["events"] == 1


def test_the_signature_is_twilios() -> None:
    # The example of Twilio's own request validation documentation and libraries.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    pairs = sorted(params.items())
    assert signature_matches("12345", url, pairs, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    # A proxy may add or drop the default port: Twilio's validators accept both.
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert signature_matches("12345", with_port, pairs, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_matches("12345", url, pairs, "0/KCTR6DLpKmkAf8muzZqo1nDgQ")
    assert not signature_matches("12345", url, [*pairs, ("Extra", "1")], "0/KCTR6DLpKmkAf8mu")


def test_the_routers_refuse_to_exist_without_credentials() -> None:
    async def sink(event: Event) -> None:
        pass

    with pytest.raises(ConfigError, match="insecure-no-auth"):
        taskrouter_router(TwilioTranslator(tenant="t1"), sink)
    with pytest.raises(ConfigError, match="insecure-no-auth"):
        firehose_router(AmazonConnectTranslator(tenant="t1"), sink, access_key="")
    taskrouter_router(TwilioTranslator(tenant="t1"), sink, insecure_no_auth=True)


async def test_readyz_shows_warnings_without_failing() -> None:
    async def ok() -> bool:
        return True

    app = FastAPI()
    app.include_router(ops_router({"wire": ok}, warnings={"webhook_auth": "open to all"}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ops"
    ) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"wire": "ok"},
        "warnings": {"webhook_auth": "open to all"},
    }


# --- body limits -------------------------------------------------------------------------------------


def test_twilio_stays_small_under_huge_bodies_and_made_up_names(tmp_path: Path) -> None:
    with webhook_source("twilio", "--insecure-no-auth", tmp_path=tmp_path) as running:
        before = running.rss_bytes()
        declared = (
            f"POST {TWILIO_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: 1500000000\r\n\r\n"
        ).encode()
        # Only the start of the announced 1.5 GB is sent: the answer must not wait for the rest.
        by_length = raw_request(running.webhook, declared, b"EventType=" + b"x" * 100_000)
        chunked = (
            f"POST {TWILIO_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        chunk = b"x" * 16_384
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8))
        # 128 KiB of an endless chunked body: refused once past 64 KiB, not at its end.
        by_stream = raw_request(running.webhook, chunked, chunks)
        after = running.rss_bytes()
        # Event types and task ids made up by the caller are not kept one by one.
        url = f"http://127.0.0.1:{running.webhook}{TWILIO_PATH}"
        with httpx.Client(headers={"Content-Type": FORM}) as client:
            for n in range(200):
                name = f"workflow.{'x' * 200}{n}"
                client.post(url, content=urlencode(callback(name, n, TaskSid=f"T{n}")))
    assert by_length.startswith(b"HTTP/1.1 413"), by_length
    assert by_stream.startswith(b"HTTP/1.1 413"), by_stream
    assert after - before < 20 * 1024 * 1024
    summary = running.summary()
    assert summary["notes"] == {"refused_request": 2}
    assert summary["ignored"] == {"other": 200}


def test_firehose_refuses_a_body_over_its_limit_before_reading_it(tmp_path: Path) -> None:
    with webhook_source("amazon-connect", tmp_path=tmp_path, FIREHOSE_ACCESS_KEY="k") as running:
        head = (
            f"POST {FIREHOSE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Firehose-Access-Key: k"
            f"\r\nContent-Type: application/json\r\nContent-Length: {65 * 1024 * 1024}\r\n\r\n"
        ).encode()
        answer = raw_request(running.webhook, head, b"{" * 1000)
    assert answer.startswith(b"HTTP/1.1 413"), answer


# --- poison records ----------------------------------------------------------------------------------


def test_a_poison_record_is_bad_and_the_others_are_published_once(tmp_path: Path) -> None:
    with webhook_source("amazon-connect", tmp_path=tmp_path, FIREHOSE_ACCESS_KEY="k") as running:
        wire = WireSubscriber(running.wire)
        url = f"http://127.0.0.1:{running.webhook}{FIREHOSE_PATH}"
        body = delivery("req-poison", [queued("c1"), deep_json(100_000), queued("c2")])
        answers = [
            httpx.post(url, content=body, headers={"X-Amz-Firehose-Access-Key": "k"}, timeout=10)
            for _ in range(3)
        ]
        events = wire.collect()
        wire.close()
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
    assert [(type(e), e.call) for e in events if isinstance(e, CallQueued)] == [
        (CallQueued, "c1"),
        (CallQueued, "c2"),
    ]
    summary = running.summary()
    assert summary["bad"] == {"too_deep": 1}
    assert summary["events"] == 2
    assert "Traceback" not in running.stderr


def test_deeply_nested_json_is_a_bad_record_at_any_depth() -> None:
    text = "\n".join(
        [
            deep_json(MAX_JSON_DEPTH + 1).decode(),  # parsed, but deeper than a record can be
            deep_json(100_000).decode(),  # deeper than the parser can go
            json.dumps({"version": "0", "detail": {"eventType": "QUEUED"}}),
        ]
    )
    items = [item for item, _ in iter_json_records(text)]
    assert [i.reason if isinstance(i, BadRecord) else "record" for i in items] == [
        "too_deep",
        "too_deep",
        "record",
    ]


def test_a_deeply_nested_twilio_record_is_a_bad_record() -> None:
    for body, reason in (
        (b'{"EventType": ' + deep_json(10_000) + b"}", "too_deep"),
        (b'{"EventType": [1]}', "bad_field"),
    ):
        with pytest.raises(BadRecord) as refused:
            parse_form(body)
        assert refused.value.reason == reason


def test_importing_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(deep_json(200_000))
    done = subprocess.run(
        [sys.executable, "-m", "wallboard.cli", "import", "amazon-connect", str(deep),
         "--tenant", "t1", "--out", str(tmp_path / "out.jsonl")],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    output = done.stdout.decode() + done.stderr.decode()
    assert "Traceback" not in output
    assert "too_deep" in output


async def test_a_too_long_request_id_is_refused() -> None:
    async def sink(event: Event) -> None:
        pass

    app = FastAPI()
    app.include_router(
        firehose_router(AmazonConnectTranslator(tenant="t1"), sink, insecure_no_auth=True)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hook"
    ) as client:
        answer = await client.post(FIREHOSE_PATH, content=delivery("r" * 10_000, []))
    assert answer.status_code == 400
    assert "requestId" in answer.json()["errorMessage"]


# --- bounded memory ----------------------------------------------------------------------------------


def test_a_bounded_map_forgets_the_least_recently_used() -> None:
    forgotten: list[int] = []
    seen: BoundedMap[str, int] = BoundedMap(3, lambda: forgotten.append(1))
    for key in "abc":
        seen[key] = ord(key)
    assert seen["a"] == ord("a")  # used: now the most recent
    seen["d"] = 4
    assert list(seen) == ["c", "a", "d"]
    assert len(forgotten) == 1


def test_made_up_names_do_not_grow_the_twilio_translator() -> None:
    translator = TwilioTranslator(tenant="t1", max_tracked=50)
    for n in range(2_000):
        for form in (
            callback(f"workflow.made-up-{n}", n),
            callback(f"task.made-up-{n}", n, TaskSid=f"WT{n}", TaskChannelUniqueName="voice"),
            callback(
                "reservation.accepted",
                n,
                TaskSid=f"WA{n}",
                TaskChannelUniqueName="chat",
                WorkerSid=f"WK{n}",
            ),
            callback(
                "worker.activity.update", n, WorkerSid=f"WK{n}", WorkerActivityName="Available"
            ),
        ):
            translator.translate(form, line(n))
    assert set(translator.stats.ignored) <= KNOWN_EVENT_TYPES | {"other"}
    assert translator.stats.ignored["other"] == 4_000
    assert len(translator.task_media) <= 50
    assert len(translator.accepted) <= 50
    assert len(translator.logged_in) <= 50
    assert translator.stats.notes["forgotten_state"] > 0


def test_made_up_contacts_do_not_grow_the_amazon_connect_translator() -> None:
    translator = AmazonConnectTranslator(tenant="t1", max_tracked=50)
    for n in range(1_000):
        translator.translate_text(queued(f"c{n}").decode())
    assert translator.stats.events == 1_000
    assert len(translator.contacts) == 50
