"""Twilio TaskRouter event callbacks → our events, and the HTTP endpoint Twilio posts them to.

TaskRouter POSTs each event to the workspace's ``EventCallbackUrl`` as a form
(``application/x-www-form-urlencoded``): ``EventType``, ``Sid`` of the event, ``ResourceType``,
``ResourceSid``, ``Timestamp`` (epoch seconds; ``TimestampMs`` when present is preferred), and
the fields of the task (``TaskSid``, ``TaskChannelUniqueName``, ``TaskQueueSid``,
``TaskQueueName``, ``TaskCanceledReason``…) and worker (``WorkerSid``, ``WorkerName``,
``WorkerActivityName``…) it concerns. Voice tasks become call events; other channels
(chat, sms, email, custom) become interaction events.

The endpoint answers ``204 No Content`` as Twilio asks, and checks ``X-Twilio-Signature``
(HMAC-SHA1 of the URL followed by the sorted parameters, keyed by the auth token) when a token
is configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import ClassVar, Final
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from wallboard.adapters.base import (
    BadRecord,
    Draft,
    EventSink,
    Location,
    TranslatorBase,
    check_name,
    optional_name,
)
from wallboard.adapters.timestamps import epoch_to_ms
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
MAX_BODY: Final = 64 * 1024


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
    ) -> None:
        super().__init__(tenant=tenant, source=source, clock=clock, first_seq=first_seq)
        self.available = frozenset(a.lower() for a in available_activities)
        self.offline = frozenset(a.lower() for a in offline_activities)
        self.logged_in: set[str] = set()
        self.accepted: dict[str, str] = {}  # TaskSid -> WorkerSid of the accepted reservation
        self.task_media: dict[str, Media] = {}

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
            self.stats.ignored[event_type] += 1
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
        self.stats.ignored[event_type] += 1
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
        self.stats.ignored[event_type] += 1
        return []

    def _worker_activity(self, f: Mapping[str, str]) -> list[Draft]:
        worker = AgentId(check_name(f.get("WorkerName") or f.get("WorkerSid"), "WorkerSid"))
        activity = check_name(f.get("WorkerActivityName"), "WorkerActivityName")
        name = activity.lower()
        if name in self.offline:
            self.logged_in.discard(worker)
            return [lambda env: AgentLogout(**env, agent=worker)]
        drafts: list[Draft] = []
        if worker not in self.logged_in:
            self.logged_in.add(worker)
            drafts.append(lambda env: AgentLogin(**env, agent=worker))
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
        if not isinstance(value, dict):
            raise BadRecord("not a JSON object", reason="not_an_object")
        return {str(k): str(v) for k, v in value.items()}
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise BadRecord("not a form-encoded body", reason="bad_form") from None


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + key1 + value1 + …))."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def taskrouter_router(
    translator: TwilioTranslator,
    sink: EventSink,
    *,
    path: str = "/twilio/taskrouter/events",
    auth_token: str | None = None,
    public_url: str | None = None,
) -> APIRouter:
    """A FastAPI router that receives TaskRouter event callbacks and passes events to ``sink``.

    ``public_url`` is the URL Twilio calls (behind a proxy it differs from what we see); the
    signature is computed over it when given.
    """
    router = APIRouter()
    counter = {"requests": 0}

    @router.post(path, response_class=Response)
    async def receive(request: Request) -> Response:
        counter["requests"] += 1
        location = Location("request", counter["requests"], "taskrouter")
        body = await request.body()
        try:
            form = parse_form(body)
        except BadRecord as error:
            translator.stats.records += 1
            translator.bad.record(error, location)
            return Response(status_code=400, content=error.message)
        if auth_token is not None:
            url = public_url or str(request.url)
            expected = twilio_signature(auth_token, url, form)
            given = request.headers.get("X-Twilio-Signature", "")
            if not hmac.compare_digest(expected, given):
                translator.stats.notes["bad_signature"] += 1
                return Response(status_code=403, content="bad X-Twilio-Signature")
        for event in translator.translate(form, location):
            await sink(event)
        # Twilio retries on errors; a record we could not use is counted, not refused.
        return Response(status_code=204)

    return router
