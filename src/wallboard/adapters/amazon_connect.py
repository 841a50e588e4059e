"""Amazon Connect: agent event stream records and contact events → our events.

Agent event stream (Kinesis): JSON records with ``EventType`` ``LOGIN``, ``LOGOUT``,
``STATE_CHANGE`` or ``HEART_BEAT``, an ``AgentARN``, an ``EventTimestamp`` (ISO 8601, UTC) and
``CurrentAgentSnapshot`` / ``PreviousAgentSnapshot`` (``AgentStatus.Name``,
``Configuration.RoutingProfile.Concurrency`` slots per channel, ``Contacts``).

Contact events (EventBridge ``Amazon Connect Contact Event``): ``detail.eventType``
``INITIATED``, ``QUEUED``, ``CONNECTED_TO_AGENT``, ``DISCONNECTED`` (others are ignored and
counted), ``detail.contactId``, ``detail.channel``, ``detail.queueInfo.queueArn``,
``detail.agentInfo.agentArn``. AWS's own samples spell some keys ``AgentInfo``/``AgentArn``, so
keys are matched without regard to case. The time of a contact event is the detail timestamp
of that step (``enqueueTimestamp``, ``connectedToAgentTimestamp``, ``disconnectTimestamp``,
``initiationTimestamp``), else the envelope ``time``.

The input must be strict JSON. AWS's published sample agent record is not (``//`` comments, a
trailing comma, a misplaced ``}``) and is rejected as ``bad_json``.

Live, records arrive through an Amazon Data Firehose stream whose destination is an HTTP
endpoint (:func:`firehose_router`). Firehose (request/response specification 1.0, "HTTP
endpoint delivery request and response specifications" in its developer guide) POSTs JSON
``{"requestId": …, "timestamp": <ms>, "records": [{"data": <base64>}, …]}``, optionally
gzip-compressed (``Content-Encoding: gzip``), with the configured access key in
``X-Amz-Firehose-Access-Key``. It counts a delivery as done only on ``200`` with the JSON body
``{"requestId": <the same>, "timestamp": <ms>}``; anything else (with ``errorMessage``) is
retried with the same request id.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from wallboard.adapters.base import (
    MAX_TRACKED,
    BadRecord,
    BoundedMap,
    Draft,
    EventSink,
    Location,
    TranslatorBase,
    check_name,
    optional_name,
)
from wallboard.adapters.timestamps import datetime_to_ms
from wallboard.adapters.webhook import (
    RequestRefused,
    read_body,
    required_secret,
    same_secret,
    translate_guarded,
)
from wallboard.core.clock import Clock
from wallboard.core.events import (
    AgentAfterCallWork,
    AgentCapacity,
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallAbandoned,
    CallEstablished,
    CallQueued,
    CallReleased,
    Event,
    InteractionAccepted,
    InteractionCreated,
    InteractionDone,
    InteractionOutcome,
    InteractionQueued,
    Media,
)
from wallboard.core.ids import AgentId, CallId, InteractionId, QueueId

logger = logging.getLogger(__name__)

CHANNELS: Final = {"VOICE": Media.VOICE, "CHAT": Media.CHAT, "TASK": Media.WORKITEM}
CONTACT_STEP_TIMES: Final = {
    "INITIATED": "initiationTimestamp",
    "QUEUED": "enqueueTimestamp",
    "CONNECTED_TO_AGENT": "connectedToAgentTimestamp",
    "DISCONNECTED": "disconnectTimestamp",
}
IGNORED_CONTACT_EVENTS: Final = frozenset(
    {"CONNECTED_TO_SYSTEM", "CONTACT_DATA_UPDATED", "AMD_DISABLED", "AMD_ERROR", "COMPLETED"}
)
OFFLINE: Final = "offline"
AVAILABLE: Final = "available"


def arn_id(arn: str | None, field: str) -> str:
    """The id at the end of an ARN (``…/agent/<id>`` → ``<id>``); plain ids pass through."""
    text = check_name(arn, field)
    return check_name(text.rsplit("/", 1)[-1], field)


def ci(mapping: Any, *keys: str) -> Any:
    """Look ``keys`` up one after another, ignoring case; ``None`` when any is missing."""
    current = mapping
    for key in keys:
        if not isinstance(current, dict):
            return None
        wanted = key.lower()
        current = next((v for k, v in current.items() if str(k).lower() == wanted), None)
    return current


MAX_JSON_DEPTH: Final = 64
"""Deepest nesting of a record accepted: Amazon Connect's records are under ten levels deep,
and a deeper one would exhaust the stack of whatever walks it later."""


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, found without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            pending.extend((child, level + 1) for child in item)
    return deepest


def _too_deep() -> BadRecord:
    return BadRecord(f"JSON nested more than {MAX_JSON_DEPTH} levels deep", reason="too_deep")


def iter_json_records(text: str) -> Iterator[tuple[dict[str, Any] | BadRecord, int]]:
    """Records of a file: one JSON object per line, a JSON array, or objects back to back
    (how Firehose writes them). Yields each object with its character offset."""
    decoder = json.JSONDecoder()
    position = 0
    length = len(text)
    while position < length:
        while position < length and text[position] in " \t\r\n,":
            position += 1
        if position >= length:
            return
        try:
            value, end = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError) as error:
            yield (
                BadRecord(f"not valid JSON: {error.msg} at char {error.pos}", reason="bad_json")
                if isinstance(error, json.JSONDecodeError)
                else _too_deep(),
                position,
            )
            # Resynchronise on the next line that opens a record (a "{" in column 0).
            restart = text.find("\n{", position + 1)
            position = length if restart < 0 else restart + 1
            continue
        if _depth(value) > MAX_JSON_DEPTH:
            yield _too_deep(), position
            position = end
            continue
        if isinstance(value, list):
            for item in value:
                yield (
                    item
                    if isinstance(item, dict)
                    else BadRecord("not a JSON object", reason="not_an_object"),
                    position,
                )
        elif isinstance(value, dict):
            yield value, position
        else:
            yield BadRecord("not a JSON object", reason="not_an_object"), position
        position = end


def _capacity(agent: AgentId, medium: Media, capacity: int) -> Draft:
    return lambda env: AgentCapacity(**env, agent=agent, media=medium, capacity=capacity)


def _ready(agent: AgentId, medium: Media) -> Draft:
    return lambda env: AgentReady(**env, agent=agent, media=medium)


def _not_ready(agent: AgentId, medium: Media, reason: str | None) -> Draft:
    return lambda env: AgentNotReady(**env, agent=agent, media=medium, reason=reason)


def _after_contact_work(agent: AgentId, medium: Media, call: CallId) -> Draft:
    return lambda env: AgentAfterCallWork(**env, agent=agent, media=medium, call=call)


class AmazonConnectTranslator(TranslatorBase):
    """Agent event stream records and contact events → events (the record says which it is)."""

    platform: ClassVar[str] = "amazon-connect"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        first_seq: int = 1,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        # Keyed by what the records name, so bounded (the least recently used is forgotten).
        self.agent_status: BoundedMap[str, str] = self.bounded(max_tracked)
        # contactId -> last step (queued / connected)
        self.contacts: BoundedMap[str, str] = self.bounded(max_tracked)

    def translate(self, record: Any, location: Location) -> list[Event]:
        self.stats.records += 1
        try:
            if not isinstance(record, dict):
                raise BadRecord("record is not a JSON object", reason="not_an_object")
            if "EventType" in record and ("AgentARN" in record or "CurrentAgentSnapshot" in record):
                return self._agent_record(record)
            nested = record.get("detail")
            detail: dict[str, Any] = nested if isinstance(nested, dict) else record
            if ci(detail, "eventType") is not None and ci(detail, "contactId") is not None:
                return self._contact_event(record, detail)
            raise BadRecord(
                "neither an agent event stream record nor a contact event", reason="unknown_record"
            )
        except BadRecord as error:
            return self._reject(error, location)

    def translate_text(self, text: str, origin: str = "") -> list[Event]:
        return list(self.iter_translate_text(text, origin))

    def iter_translate_text(self, text: str, origin: str = "") -> Iterator[Event]:
        """The events of a file's records, record by record (see :func:`iter_json_records`)."""
        for item, position in iter_json_records(text):
            location = Location("offset", position, origin)
            if isinstance(item, BadRecord):
                self.stats.records += 1
                self._reject(item, location)
            else:
                yield from self.translate(item, location)

    # --- agent event stream ---

    def _agent_record(self, r: dict[str, Any]) -> list[Event]:
        event_type = str(r.get("EventType") or "")
        agent = AgentId(arn_id(r.get("AgentARN"), "AgentARN"))
        ts_ms = datetime_to_ms(str(r.get("EventTimestamp") or ""), field="EventTimestamp")
        key = str(r.get("EventId") or json.dumps(r, sort_keys=True))
        snapshot = r.get("CurrentAgentSnapshot") or {}
        if not isinstance(snapshot, dict):
            raise BadRecord("CurrentAgentSnapshot is not an object", reason="bad_field")
        status_name = optional_name(ci(snapshot, "AgentStatus", "Name"), "AgentStatus.Name")
        drafts: list[Draft] = []
        known = self.agent_status.get(agent)
        if event_type == "LOGOUT":
            # Connect routes every channel: its logout (no media named) ends the whole session.
            self.agent_status[agent] = OFFLINE
            return self.stamper.stamp(key, ts_ms, [lambda env: AgentLogout(**env, agent=agent)])
        if event_type not in ("LOGIN", "STATE_CHANGE", "HEART_BEAT"):
            raise BadRecord(
                f"unknown agent EventType {event_type[:40]!r}", reason="unknown_event_type"
            )
        if status_name is None and event_type != "LOGIN":
            raise BadRecord(
                "CurrentAgentSnapshot.AgentStatus.Name is missing",
                reason="missing_field",
                field="AgentStatus.Name",
            )
        status = (status_name or AVAILABLE).lower()
        if status == OFFLINE:
            if known not in (None, OFFLINE):
                drafts.append(lambda env: AgentLogout(**env, agent=agent))
            self.agent_status[agent] = OFFLINE
            return self.stamper.stamp(key, ts_ms, drafts)
        slots = self._slots(snapshot)
        if known in (None, OFFLINE) or event_type == "LOGIN":
            media = tuple(slots) or (Media.VOICE,)
            queues = self._queues(snapshot)
            drafts.append(lambda env: AgentLogin(**env, agent=agent, media=media, queues=queues))
            for medium, capacity in slots.items():
                drafts.append(_capacity(agent, medium, capacity))
        if status != known or event_type == "LOGIN":
            for medium in slots or {Media.VOICE: 1}:
                if status == AVAILABLE:
                    drafts.append(_ready(agent, medium))
                else:
                    drafts.append(_not_ready(agent, medium, status_name))
        # A contact that ended while the agent still works on it is after-contact work.
        for contact in ci(snapshot, "Contacts") or []:
            if isinstance(contact, dict) and str(ci(contact, "State") or "").upper() == "ENDED":
                contact_id = CallId(check_name(ci(contact, "ContactId"), "ContactId"))
                medium = CHANNELS.get(str(ci(contact, "Channel") or "VOICE").upper(), Media.VOICE)
                drafts.append(_after_contact_work(agent, medium, contact_id))
        self.agent_status[agent] = status
        return self.stamper.stamp(key, ts_ms, drafts)

    @staticmethod
    def _slots(snapshot: dict[str, Any]) -> dict[Media, int]:
        slots: dict[Media, int] = {}
        for entry in ci(snapshot, "Configuration", "RoutingProfile", "Concurrency") or []:
            if not isinstance(entry, dict):
                continue
            medium = CHANNELS.get(str(ci(entry, "Channel") or "").upper())
            maximum = ci(entry, "MaximumSlots")
            if medium is None or not isinstance(maximum, int) or not 0 <= maximum <= 1000:
                raise BadRecord(
                    f"bad routing profile concurrency entry {entry!r:.80}",
                    reason="bad_field",
                    field="Concurrency",
                )
            slots[medium] = maximum
        return slots

    @staticmethod
    def _queues(snapshot: dict[str, Any]) -> tuple[QueueId, ...]:
        queues: list[QueueId] = []
        for entry in ci(snapshot, "Configuration", "RoutingProfile", "InboundQueues") or []:
            if isinstance(entry, dict) and ci(entry, "ARN"):
                arn = str(ci(entry, "ARN"))
                if "/queue/agent/" in arn:
                    continue  # the agent's own queue: not a queue supervisors watch
                queues.append(QueueId(arn_id(arn, "InboundQueues.ARN")))
        return tuple(queues)

    # --- contact events ---

    def _contact_event(self, envelope: dict[str, Any], d: dict[str, Any]) -> list[Event]:
        event_type = str(ci(d, "eventType")).upper()
        contact = check_name(str(ci(d, "contactId")), "contactId")
        if event_type in IGNORED_CONTACT_EVENTS:
            self.stats.ignored[event_type] += 1
            return []
        if event_type not in CONTACT_STEP_TIMES:
            raise BadRecord(
                f"unknown contact eventType {event_type[:40]!r}", reason="unknown_event_type"
            )
        stamp = (
            ci(d, "queueInfo", "enqueueTimestamp")
            if event_type == "QUEUED"
            else ci(d, "agentInfo", "connectedToAgentTimestamp")
            if event_type == "CONNECTED_TO_AGENT"
            else ci(d, CONTACT_STEP_TIMES[event_type])
        ) or envelope.get("time")
        if not stamp:
            raise BadRecord("no timestamp for the contact event", reason="missing_timestamp")
        ts_ms = datetime_to_ms(str(stamp), field=CONTACT_STEP_TIMES[event_type])
        key = f"{contact}|{event_type}|{envelope.get('id') or ''}"
        medium = CHANNELS.get(str(ci(d, "channel") or "VOICE").upper())
        if medium is None:
            raise BadRecord(
                f"unknown channel {ci(d, 'channel')!r:.40}", reason="bad_field", field="channel"
            )
        queue_arn = ci(d, "queueInfo", "queueArn")
        queue = QueueId(arn_id(queue_arn, "queueArn")) if queue_arn else None
        agent_arn = ci(d, "agentInfo", "agentArn")
        agent = AgentId(arn_id(agent_arn, "agentArn")) if agent_arn else None
        before = self.contacts.get(contact)
        drafts: list[Draft] = []
        if medium is Media.VOICE:
            call = CallId(contact)
            if event_type == "QUEUED" and queue:
                self.contacts[contact] = "queued"
                drafts.append(lambda env: CallQueued(**env, call=call, queue=queue))
            elif event_type == "CONNECTED_TO_AGENT" and agent:
                self.contacts[contact] = "connected"
                drafts.append(
                    lambda env: CallEstablished(**env, call=call, agent=agent, queue=queue)
                )
            elif event_type == "DISCONNECTED":
                self.contacts.pop(contact, None)
                if before == "connected" or (agent and before is None):
                    drafts.append(
                        lambda env: CallReleased(**env, call=call, agent=agent, queue=queue)
                    )
                elif queue and before == "queued":
                    drafts.append(lambda env: CallAbandoned(**env, call=call, queue=queue))
            else:
                self.stats.ignored[f"voice_{event_type}"] += 1
            return self.stamper.stamp(key, ts_ms, drafts)
        interaction = InteractionId(contact)
        if event_type == "INITIATED":
            drafts.append(
                lambda env: InteractionCreated(**env, interaction=interaction, media=medium)
            )
        elif event_type == "QUEUED" and queue:
            self.contacts[contact] = "queued"
            drafts.append(
                lambda env: InteractionQueued(
                    **env, interaction=interaction, media=medium, queue=queue
                )
            )
        elif event_type == "CONNECTED_TO_AGENT" and agent:
            self.contacts[contact] = "connected"
            drafts.append(
                lambda env: InteractionAccepted(
                    **env, interaction=interaction, media=medium, agent=agent, queue=queue
                )
            )
        elif event_type == "DISCONNECTED":
            self.contacts.pop(contact, None)
            outcome = (
                InteractionOutcome.ABANDONED if before == "queued" else InteractionOutcome.COMPLETED
            )
            drafts.append(
                lambda env: InteractionDone(
                    **env,
                    interaction=interaction,
                    media=medium,
                    agent=agent,
                    queue=queue,
                    outcome=outcome,
                )
            )
        return self.stamper.stamp(key, ts_ms, drafts)


# --- live: the Firehose HTTP endpoint ---------------------------------------------------------------

FIREHOSE_MAX_BODY: Final = 64 * 1024 * 1024
"""Largest request body accepted, after decompression (Firehose buffers up to 64 MiB)."""


MAX_REQUEST_ID: Final = 256
"""Longest request id remembered (Firehose's are UUIDs): the memory of delivered ids is bounded."""


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, decompressed when gzip, refused beyond ``limit`` bytes either way."""
    body = await read_body(request, limit)
    if request.headers.get("content-encoding", "").strip().lower() == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            plain = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise RequestRefused(400, f"body is not valid gzip: {error}") from None
        if len(plain) > limit or inflater.unconsumed_tail:
            raise RequestRefused(413, f"decompressed body is larger than {limit} bytes")
        return plain
    return body


def parse_firehose_request(body: bytes) -> tuple[str, list[Any]]:
    """The request id and the ``records`` array of a Firehose delivery request."""
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestRefused(400, f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise RequestRefused(400, "body is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise RequestRefused(400, "body is not a JSON object")
    request_id, records = value.get("requestId"), value.get("records")
    if not isinstance(request_id, str) or not request_id:
        raise RequestRefused(400, "requestId is missing or not a string")
    if len(request_id) > MAX_REQUEST_ID:
        raise RequestRefused(400, f"requestId is longer than {MAX_REQUEST_ID} characters")
    if not isinstance(records, list):
        raise RequestRefused(400, "records is missing or not an array")
    return request_id, records


def firehose_router(
    translator: AmazonConnectTranslator,
    sink: EventSink,
    *,
    path: str = "/amazon-connect/firehose",
    access_key: str | None = None,
    insecure_no_auth: bool = False,
    max_body: int = FIREHOSE_MAX_BODY,
    remembered_requests: int = 1000,
    now_ms: Callable[[], int] | None = None,
) -> APIRouter:
    """A FastAPI router receiving Amazon Connect records from a Firehose HTTP endpoint delivery.

    Each record's ``data`` (base64) holds one or more JSON records (agent event stream records,
    or EventBridge contact events), translated in order and passed to ``sink``. A record that
    cannot be decoded or translated is counted as bad and the delivery still succeeds: sending
    it again would not help. A request is refused as a whole (Firehose retries it) only when the
    access key is wrong (401), the body is not a delivery request (400) or too large (413).
    Without an access key the router is refused (:class:`ConfigError`) unless
    ``insecure_no_auth``. The ids of the last ``remembered_requests`` delivered requests are
    kept, so a retry of a request already delivered (its answer was lost) is acknowledged
    without publishing twice.
    """
    key = required_secret(
        access_key,
        insecure_no_auth=insecure_no_auth,
        what="Firehose access key (--access-key or FIREHOSE_ACCESS_KEY)",
        field="access_key",
    )
    router = APIRouter()
    delivered: collections.OrderedDict[str, None] = collections.OrderedDict()
    counter = {"requests": 0}
    clock_ms: Callable[[], int] = now_ms or (lambda: 0)

    def answer(request_id: str, status: int = 200, error: str | None = None) -> JSONResponse:
        content: dict[str, Any] = {
            "requestId": request_id[:MAX_REQUEST_ID],
            "timestamp": clock_ms(),
        }
        if error is not None:
            content["errorMessage"] = error
        return JSONResponse(content, status_code=status)

    @router.post(path, response_class=Response)
    async def receive(request: Request) -> Response:
        counter["requests"] += 1
        header_id = request.headers.get("x-amz-firehose-request-id", "")
        if key is not None:
            given = request.headers.get("x-amz-firehose-access-key", "")
            if not same_secret(given, key):
                translator.stats.notes["firehose_bad_access_key"] += 1
                return answer(header_id, 401, "bad X-Amz-Firehose-Access-Key")
        try:
            request_id, records = parse_firehose_request(await _read_body(request, max_body))
        except RequestRefused as error:
            translator.stats.notes["firehose_refused_request"] += 1
            logger.warning("Firehose request %.80s refused: %s", header_id or "?", error.message)
            return answer(header_id, error.status, error.message)
        if request_id in delivered:
            translator.stats.notes["firehose_repeated_request"] += 1
            return answer(request_id)
        # Remembered before its records are published: whatever happens to one record, the
        # others are published once, and a retry publishes none of them again.
        delivered[request_id] = None
        while len(delivered) > remembered_requests:
            delivered.popitem(last=False)
        origin = f"firehose request {request_id}"
        for index, record in enumerate(records):
            location = Location("record", index, origin)
            data = record.get("data") if isinstance(record, dict) else None
            try:
                if not isinstance(data, str):
                    raise BadRecord("record has no data string", reason="missing_field")
                try:
                    text = base64.b64decode(data, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    raise BadRecord(
                        "record data is not base64 of UTF-8 text", reason="bad_encoding"
                    ) from None
            except BadRecord as error:
                translator.stats.records += 1
                translator.bad.record(error, location)
                continue
            for item, position in iter_json_records(text):
                where = Location("record", index, f"{origin} offset {position}")
                if isinstance(item, BadRecord):
                    translator.stats.records += 1
                    translator.bad.record(item, where)
                    continue
                for event in translate_guarded(translator, item, where):
                    await sink(event)
        return answer(request_id)

    return router
