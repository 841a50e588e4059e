"""Fuzzing the internet-facing HTTP endpoints (Twilio TaskRouter callbacks, Firehose deliveries)
of a running ``wallboard source`` process on loopback, with a fixed budget.

Random bodies, headers and sizes, garbage among good records, retries. Every answer is a known
status with a reason; every good record's events reach the wire exactly once; at the end the
process has logged no traceback and has not grown.
"""

from __future__ import annotations

import gzip
import itertools
import json
import socket
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cloud_and_freeswitch import callback
from webhook_process import Running, WireSubscriber, delivery, queued, webhook_source

from wallboard.adapters.twilio import twilio_signature
from wallboard.core.events import CallQueued

BUDGET = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TOKEN = "fuzz-token"
KEY = "fuzz-key"
PUBLIC_URL = "https://wb.example.com/twilio/taskrouter/events"
GROWTH_LIMIT = 40 * 1024 * 1024
_ids = itertools.count()


class Endpoint:
    """A running source, its wire subscriber and the calls whose queueing must arrive once."""

    def __init__(self, running: Running, path: str) -> None:
        self.running = running
        self.url = f"http://127.0.0.1:{running.webhook}{path}"
        self.wire = WireSubscriber(running.wire)
        self.client = httpx.Client(timeout=10)
        self.expected: list[str] = []
        self.rss_at_start = running.rss_bytes()

    def finish(self) -> None:
        """After the examples: everything good arrived once, nothing leaked, no traceback."""
        growth = self.running.rss_bytes() - self.rss_at_start
        queued_calls = Counter(e.call for e in self.wire.collect() if isinstance(e, CallQueued))
        self.wire.close()
        self.client.close()
        assert queued_calls == Counter(self.expected)
        assert growth < GROWTH_LIMIT, growth


@pytest.fixture(scope="module")
def twilio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    tmp_path = tmp_path_factory.mktemp("twilio")
    args = ("--public-url", PUBLIC_URL)
    with webhook_source("twilio", *args, tmp_path=tmp_path, TWILIO_AUTH_TOKEN=TOKEN) as running:
        endpoint = Endpoint(running, "/twilio/taskrouter/events")
        yield endpoint
        endpoint.finish()
    assert "Traceback" not in running.stderr


@pytest.fixture(scope="module")
def firehose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    tmp_path = tmp_path_factory.mktemp("firehose")
    with webhook_source("amazon-connect", tmp_path=tmp_path, FIREHOSE_ACCESS_KEY=KEY) as running:
        endpoint = Endpoint(running, "/amazon-connect/firehose")
        yield endpoint
        endpoint.finish()
    assert "Traceback" not in running.stderr


def named_refusal(answer: httpx.Response, statuses: set[int]) -> None:
    assert answer.status_code in statuses, (answer.status_code, answer.text)
    if answer.status_code >= 400:
        assert answer.text.strip(), answer.status_code


# --- strategies --------------------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
    str.strip
)
headers = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "Content-Encoding", "X-Twilio-Signature", "X-Amz-Firehose-Access-Key",
         "X-Amz-Firehose-Request-Id", "Accept", "X-Forwarded-For"]
    ),
    header_text,
    max_size=4,
)  # fmt: skip
sizes = st.sampled_from([0, 10, 1000, 64 * 1024, 64 * 1024 + 1, 200_000])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


garbage = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(60, 200_000).map(deep),
)


# --- Twilio ------------------------------------------------------------------------------------------


@BUDGET
@given(body=st.binary(max_size=2000), extra=headers, size=sizes)
def test_twilio_answers_any_request_with_a_named_status(
    twilio: Endpoint, body: bytes, extra: dict[str, str], size: int
) -> None:
    padded = (body * (size // max(len(body), 1) + 1))[:size] if size else body
    answer = twilio.client.post(twilio.url, content=padded, headers=extra)
    named_refusal(answer, {400, 403, 413})


@BUDGET
@given(
    event_type=st.sampled_from(
        ["task-queue.entered", "workflow.made-up", "task.canceled", "reservation.accepted", "x"]
    ),
    fields=st.dictionaries(
        st.sampled_from(["TaskChannelUniqueName", "WorkerSid", "TaskQueueSid", "Timestamp"]),
        st.text(max_size=300),
        max_size=3,
    ),
    signed=st.booleans(),
)
def test_twilio_publishes_signed_callbacks_once_and_nothing_else(
    twilio: Endpoint, event_type: str, fields: dict[str, str], signed: bool
) -> None:
    n = next(_ids)
    good = callback(
        "task-queue.entered",
        1_700_000_000 + n,
        TaskSid=f"WT-good-{n}",
        TaskChannelUniqueName="voice",
        TaskQueueName="support",
    )
    # A random callback first (signed or not), then a good one: only the good one's call
    # is published, once.
    noise = callback(event_type, 1_700_000_000 + n, TaskSid=f"WT-noise-{n}", **fields)
    noise.pop("TaskQueueName", None)
    noise["TaskChannelUniqueName"] = "chat"
    for form, sign in ((noise, signed), (good, True)):
        signature = twilio_signature(TOKEN if sign else "wrong", PUBLIC_URL, form)
        answer = twilio.client.post(
            twilio.url,
            content=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        named_refusal(answer, {204} if sign else {403})
    twilio.expected.append(f"WT-good-{n}")


# --- Firehose ----------------------------------------------------------------------------------------


@BUDGET
@given(body=st.binary(max_size=2000), extra=headers, gzipped=st.booleans())
def test_firehose_answers_any_request_with_a_named_status(
    firehose: Endpoint, body: bytes, extra: dict[str, str], gzipped: bool
) -> None:
    sent = {"X-Amz-Firehose-Access-Key": KEY, **extra}
    if gzipped:
        body, sent["Content-Encoding"] = gzip.compress(body), "gzip"
    answer = firehose.client.post(firehose.url, content=body, headers=sent)
    named_refusal(answer, {200, 400, 401, 413})
    assert answer.json()["timestamp"] > 0
    if answer.status_code != 200:
        assert answer.json()["errorMessage"]


@BUDGET
@given(
    records=st.lists(st.one_of(st.just(None), garbage), min_size=1, max_size=6),
    retries=st.integers(0, 2),
    gzipped=st.booleans(),
    right_key=st.booleans(),
)
def test_firehose_publishes_good_records_once_among_bad_ones(
    firehose: Endpoint,
    records: list[bytes | None],
    retries: int,
    gzipped: bool,
    right_key: bool,
) -> None:
    n = next(_ids)
    good = [f"c-{n}-{i}" for i, r in enumerate(records) if r is None]
    data = [queued(f"c-{n}-{i}") if r is None else r for i, r in enumerate(records)]
    body = delivery(f"request-{n}", data)
    sent = {"X-Amz-Firehose-Access-Key": KEY if right_key else "nope"}
    if gzipped:
        body, sent["Content-Encoding"] = gzip.compress(body), "gzip"
    for _ in range(1 + retries):
        answer = firehose.client.post(firehose.url, content=body, headers=sent)
        named_refusal(answer, {200} if right_key else {401})
        assert answer.json()["requestId"] == (f"request-{n}" if right_key else "")
    if right_key:
        firehose.expected += good


@BUDGET
@given(declared=st.integers(1, 10_000_000), sent=st.binary(max_size=3000), which=st.booleans())
def test_callers_that_leave_half_way_leave_no_trace(
    twilio: Endpoint, firehose: Endpoint, declared: int, sent: bytes, which: bool
) -> None:
    endpoint, key = (twilio, "") if which else (firehose, f"X-Amz-Firehose-Access-Key: {KEY}\r\n")
    path = endpoint.url.split(str(endpoint.running.webhook), 1)[1]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{key}Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", endpoint.running.webhook), timeout=5) as caller:
        caller.sendall(head + sent[: max(declared - 1, 0)])
    # The fixtures check, at the end, that the process logged no traceback for any of them.
