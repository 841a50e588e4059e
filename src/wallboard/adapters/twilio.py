"""Twilio TaskRouter event callbacks → our events, and the HTTP endpoint Twilio posts them to.

TaskRouter POSTs each event to the workspace's ``EventCallbackUrl`` as a form
(``application/x-www-form-urlencoded``): ``EventType``, ``Sid`` of the event, ``ResourceType``,
``ResourceSid``, ``Timestamp`` (epoch seconds; ``TimestampMs`` when present is preferred), and
the fields of the task (``TaskSid``, ``TaskChannelUniqueName``, ``TaskQueueSid``,
``TaskQueueName``, ``TaskCanceledReason``…) and worker (``WorkerSid``, ``WorkerName``,
``WorkerActivityName``…) it concerns. Voice tasks become call events; other channels
(chat, sms, email, custom) become interaction events.

The endpoint answers ``204 No Content`` as Twilio asks, and checks ``X-Twilio-Signature``
(base64 of the HMAC-SHA1, keyed by the account's auth token, of the URL Twilio called followed by
each parameter's name and value, sorted by name); it does not exist without a token unless
``insecure_no_auth`` is given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import ClassVar, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response

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
from wallboard.adapters.timestamps import epoch_to_ms
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
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallAbandoned,
    CallEstablished,
    CallQueued,
    CallReleased,
    CallRinging,
    Event,
    InteractionAccepted,
    InteractionCreated,
    InteractionDone,
    InteractionOffered,
    InteractionOutcome,
    InteractionQueued,
    InteractionRejected,
    InteractionRevoked,
    Media,
)
from wallboard.core.ids import AgentId, CallId, InteractionId, QueueId

logger = logging.getLogger(__name__)

MEDIA_BY_CHANNEL: Final = {
    "voice": Media.VOICE,
    "chat": Media.CHAT,
    "sms": Media.CHAT,
    "email": Media.EMAIL,
}
DEFAULT_AVAILABLE_ACTIVITIES: Final = frozenset({"available", "idle"})
DEFAULT_OFFLINE_ACTIVITIES: Final = frozenset({"offline"})
IGNORED_PREFIXES: Final = (
    "workflow.",
    "activity.",
    "workspace.",
    "task-queue.created",
    "task-queue.deleted",
    "task-queue.updated",
    "task-queue.moved",
    "task-channel.",
    "worker.created",
    "worker.deleted",
    "worker.attributes",
    "worker.capacity",
    "worker.channel",
    "task.updated",
    "task.deleted",
    "task.system-deleted",
    "task.transfer",
    "reservation.completed",
    "reservation.wrapup",
    "reservation.failed",
    "task-queue.timeout",
    "task-queue.expression",
)
KNOWN_EVENT_TYPES: Final = frozenset(
    {
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "reservation.created",
        "reservation.accepted",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.canceled",
        "reservation.rescinded",
        "reservation.completed",
        "reservation.failed",
        "reservation.wrapup",
        "task.created",
        "task.updated",
        "task.canceled",
        "task.wrapup",
        "task.completed",
        "task.deleted",
        "task.system-deleted",
        "task.transfer-initiated",
        "task.transfer-attempt-failed",
        "task.transfer-failed",
        "task.transfer-canceled",
        "task.transfer-completed",
        "task-channel.created",
        "task-channel.updated",
        "task-channel.deleted",
        "task-queue.created",
        "task-queue.updated",
        "task-queue.deleted",
        "task-queue.entered",
        "task-queue.moved",
        "task-queue.timeout",
        "task-queue.expression.updated",
        "worker.activity.update",
        "worker.attributes.update",
        "worker.capacity.update",
        "worker.channel.availability.update",
        "worker.created",
        "worker.deleted",
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
        "workflow.entered",
        "workflow.target-matched",
        "workflow.timeout",
        "workflow.skipped",
        "workspace.created",
        "workspace.updated",
        "workspace.deleted",
    }
)
"""TaskRouter's event types (its Events reference): the only names counted one by one, so what
a poster makes up cannot grow the counters; any other name is counted as ``other``."""
MAX_BODY: Final = 64 * 1024
"""Largest callback body accepted (a TaskRouter callback is a few KiB)."""


def _event_label(event_type: str) -> str:
    return event_type if event_type in KNOWN_EVENT_TYPES else "other"


class TwilioTranslator(TranslatorBase):
    """TaskRouter event callback parameters → events."""

    platform: ClassVar[str] = "twilio"

    def __init__(
        self,
        *,
        tenant: str,
        source: str | None = None,
        clock: Clock | None = None,
        available_activities: frozenset[str] = DEFAULT_AVAILABLE_ACTIVITIES,
        offline_activities: frozenset[str] = DEFAULT_OFFLINE_ACTIVITIES,
        first_seq: int = 1,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        self.available = frozenset(a.lower() for a in available_activities)
        self.offline = frozenset(a.lower() for a in offline_activities)
        # Each keyed by what the callbacks name, so each is bounded (least recently used goes).
        self.logged_in: BoundedMap[str, None] = self.bounded(max_tracked)
        self.accepted: BoundedMap[str, str] = self.bounded(max_tracked)  # TaskSid -> WorkerSid
        self.task_media: BoundedMap[str, Media] = self.bounded(max_tracked)

    def translate(self, form: Mapping[str, str], location: Location) -> list[Event]:
        self.stats.records += 1
        try:
            event_type = check_name(form.get("EventType"), "EventType")
            if form.get("TimestampMs"):
                ts_ms = epoch_to_ms(form["TimestampMs"], "TimestampMs")
            else:
                ts_ms = epoch_to_ms(check_name(form.get("Timestamp"), "Timestamp"), "Timestamp")
            key = form.get("Sid") or "&".join(f"{k}={v}" for k, v in sorted(form.items()))
            return self.stamper.stamp(key, ts_ms, self._drafts(event_type, form))
        except BadRecord as error:
            return self._reject(error, location)

    def _media(self, form: Mapping[str, str], task: str) -> Media:
        channel = (form.get("TaskChannelUniqueName") or "").lower()
        if channel:
            medium = MEDIA_BY_CHANNEL.get(channel, Media.WORKITEM)
            self.task_media[task] = medium
            return medium
        return self.task_media.get(task, Media.WORKITEM)

    def _drafts(self, event_type: str, f: Mapping[str, str]) -> list[Draft]:
        if event_type == "worker.activity.update":
            return self._worker_activity(f)
        if event_type.startswith(IGNORED_PREFIXES):
            self.stats.ignored[_event_label(event_type)] += 1
            return []
        if not event_type.startswith(("task.", "task-queue.", "reservation.")):
            raise BadRecord(f"unknown EventType {event_type[:40]!r}", reason="unknown_event_type")
        task = check_name(f.get("TaskSid"), "TaskSid")
        medium = self._media(f, task)
        queue_text = optional_name(f.get("TaskQueueName") or f.get("TaskQueueSid"), "TaskQueueSid")
        queue = QueueId(queue_text) if queue_text else None
        worker_text = optional_name(f.get("WorkerName") or f.get("WorkerSid"), "WorkerSid")
        worker = AgentId(worker_text) if worker_text else None
        if medium is Media.VOICE:
            return self._voice(event_type, CallId(task), queue, worker)
        return self._interaction(event_type, InteractionId(task), medium, queue, worker)

    def _need(self, value: str | None, field: str, event_type: str) -> str:
        if value is None:
            raise BadRecord(f"{event_type} needs {field}", reason="missing_field", field=field)
        return value

    def _voice(
        self, event_type: str, call: CallId, queue: QueueId | None, worker: AgentId | None
    ) -> list[Draft]:
        if event_type == "task-queue.entered":
            q = QueueId(self._need(queue, "TaskQueueSid", event_type))
            return [lambda env: CallQueued(**env, call=call, queue=q)]
        if event_type == "reservation.created":
            w = AgentId(self._need(worker, "WorkerSid", event_type))
            return [lambda env: CallRinging(**env, call=call, agent=w, queue=queue)]
        if event_type == "reservation.accepted":
            w = AgentId(self._need(worker, "WorkerSid", event_type))
            self.accepted[call] = w
            return [lambda env: CallEstablished(**env, call=call, agent=w, queue=queue)]
        if event_type == "task.canceled":
            self.task_media.pop(call, None)
            if call in self.accepted:
                w = AgentId(self.accepted.pop(call))
                return [lambda env: CallReleased(**env, call=call, agent=w, queue=queue)]
            if queue is None:
                self.stats.ignored["task.canceled_unqueued"] += 1
                return []
            return [lambda env: CallAbandoned(**env, call=call, queue=queue)]
        if event_type == "task.wrapup":
            w = AgentId(self.accepted.get(call) or self._need(worker, "WorkerSid", event_type))
            return [
                lambda env: CallReleased(**env, call=call, agent=w, queue=queue),
                lambda env: AgentAfterCallWork(**env, agent=w, call=call),
            ]
        if event_type == "task.completed":
            self.task_media.pop(call, None)
            self.accepted.pop(call, None)
            self.stats.ignored["task.completed_voice"] += 1
            return []
        self.stats.ignored[_event_label(event_type)] += 1
        return []

    def _interaction(
        self,
        event_type: str,
        item: InteractionId,
        medium: Media,
        queue: QueueId | None,
        worker: AgentId | None,
    ) -> list[Draft]:
        if event_type == "task.created":
            return [lambda env: InteractionCreated(**env, interaction=item, media=medium)]
        if event_type == "task-queue.entered":
            q = QueueId(self._need(queue, "TaskQueueSid", event_type))
            return [lambda env: InteractionQueued(**env, interaction=item, media=medium, queue=q)]
        if event_type.startswith("reservation."):
            w = AgentId(self._need(worker, "WorkerSid", event_type))
            if event_type == "reservation.created":
                return [
                    lambda env: InteractionOffered(
                        **env, interaction=item, media=medium, agent=w, queue=queue
                    )
                ]
            if event_type == "reservation.accepted":
                self.accepted[item] = w
                return [
                    lambda env: InteractionAccepted(
                        **env, interaction=item, media=medium, agent=w, queue=queue
                    )
                ]
            if event_type == "reservation.rejected":
                return [
                    lambda env: InteractionRejected(**env, interaction=item, media=medium, agent=w)
                ]
            if event_type in (
                "reservation.timeout",
                "reservation.canceled",
                "reservation.rescinded",
            ):
                return [
                    lambda env: InteractionRevoked(**env, interaction=item, media=medium, agent=w)
                ]
        if event_type == "task.wrapup":
            owner = self.accepted.get(item) or worker
            if owner is None:
                self.stats.ignored["task.wrapup_unassigned"] += 1
                return []
            agent = AgentId(owner)
            return [lambda env: AgentAfterCallWork(**env, agent=agent, media=medium)]
        if event_type in ("task.completed", "task.canceled"):
            self.task_media.pop(item, None)
            owner_text = self.accepted.pop(item, None)
            owner = AgentId(owner_text) if owner_text else None
            outcome = (
                InteractionOutcome.COMPLETED
                if event_type == "task.completed" or owner is not None
                else InteractionOutcome.ABANDONED
            )
            return [
                lambda env: InteractionDone(
                    **env, interaction=item, media=medium, agent=owner, queue=queue, outcome=outcome
                )
            ]
        self.stats.ignored[_event_label(event_type)] += 1
        return []

    def _worker_activity(self, f: Mapping[str, str]) -> list[Draft]:
        worker = AgentId(check_name(f.get("WorkerName") or f.get("WorkerSid"), "WorkerSid"))
        activity = check_name(f.get("WorkerActivityName"), "WorkerActivityName")
        name = activity.lower()
        if name in self.offline:
            self.logged_in.pop(worker, None)
            return [lambda env: AgentLogout(**env, agent=worker)]
        drafts: list[Draft] = []
        if worker not in self.logged_in:
            drafts.append(lambda env: AgentLogin(**env, agent=worker))
        self.logged_in[worker] = None
        if name in self.available:
            drafts.append(lambda env: AgentReady(**env, agent=worker))
        else:
            drafts.append(lambda env: AgentNotReady(**env, agent=worker, reason=activity))
        return drafts


def parse_form(body: bytes) -> dict[str, str]:
    """A form-encoded body (or, for offline files, a JSON object) → its parameters."""
    if len(body) > MAX_BODY:
        raise BadRecord(f"body of {len(body)} bytes is too large", reason="body_too_large")
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadRecord(f"not valid JSON: {error.msg}", reason="bad_json") from None
        except RecursionError:
            raise BadRecord("JSON nested too deeply", reason="too_deep") from None
        if not isinstance(value, dict):
            raise BadRecord("not a JSON object", reason="not_an_object")
        if any(isinstance(v, (dict, list)) for v in value.values()):
            raise BadRecord("a parameter is not a plain value", reason="bad_field")
        return {str(k): str(v) for k, v in value.items()}
    return dict(form_pairs(text))


def form_pairs(text: str) -> list[tuple[str, str]]:
    """The parameters of a form-encoded body, in order, repeated names kept."""
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise BadRecord("not a form-encoded body", reason="bad_form") from None


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + key1 + value1 + …)), the
    parameters sorted by name (then value, for a name given more than once)."""
    return _signature(auth_token, url, list(params.items()))


def _signature(auth_token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    payload = url + "".join(f"{key}{value}" for key, value in sorted(set(pairs)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as signed, with and without its scheme's default port: Twilio's own validators
    accept both, since a proxy may add or drop the port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.username or default is None:
        return [url]
    if port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]
    if port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def signature_matches(auth_token: str, url: str, pairs: list[tuple[str, str]], given: str) -> bool:
    """Whether ``given`` (X-Twilio-Signature) signs this URL and these parameters; compared in
    constant time."""
    found = False
    for variant in _url_variants(url):
        found |= same_secret(given, _signature(auth_token, variant, pairs))
    return found


def taskrouter_router(
    translator: TwilioTranslator,
    sink: EventSink,
    *,
    path: str = "/twilio/taskrouter/events",
    auth_token: str | None = None,
    public_url: str | None = None,
    insecure_no_auth: bool = False,
    max_body: int = MAX_BODY,
) -> APIRouter:
    """A FastAPI router that receives TaskRouter event callbacks and passes events to ``sink``.

    ``X-Twilio-Signature`` is checked with ``auth_token`` (403 otherwise); without a token the
    router is refused (:class:`ConfigError`) unless ``insecure_no_auth``. ``public_url`` is the
    URL Twilio calls (behind a proxy it differs from what we see); the signature is computed over
    it when given. A body over ``max_body`` bytes is refused (413) before it is read.
    """
    token = required_secret(
        auth_token,
        insecure_no_auth=insecure_no_auth,
        what="Twilio auth token (--auth-token or TWILIO_AUTH_TOKEN)",
        field="auth_token",
    )
    router = APIRouter()
    counter = {"requests": 0}

    def refuse(status: int, reason: str, message: str) -> Response:
        translator.stats.notes[reason] += 1
        return Response(status_code=status, content=message, media_type="text/plain")

    @router.post(path, response_class=Response)
    async def receive(request: Request) -> Response:
        counter["requests"] += 1
        location = Location("request", counter["requests"], "taskrouter")
        try:
            body = await read_body(request, max_body)
        except RequestRefused as error:
            return refuse(error.status, "refused_request", error.message)
        try:
            pairs = form_pairs(body.decode("utf-8", "replace"))
        except BadRecord as error:
            translator.stats.records += 1
            translator.bad.record(error, location)
            return Response(status_code=400, content=error.message, media_type="text/plain")
        if token is not None:
            url = public_url or str(request.url)
            given = request.headers.get("X-Twilio-Signature", "")
            if not signature_matches(token, url, pairs, given):
                return refuse(403, "bad_signature", "bad X-Twilio-Signature")
        for event in translate_guarded(translator, dict(pairs), location):
            await sink(event)
        # Twilio retries on errors; a record we could not use is counted, not refused.
        return Response(status_code=204)

    return router
