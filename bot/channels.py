"""Rasa input channels with a guard in front of the bot.

The guard gives every message a polite French answer or a clear HTTP error, never a crash:
empty or over-long text and floods are answered directly; control characters are removed; a
``/intent{...}`` payload that is not one of our own buttons is read as plain text, so a user can
never force an intent or set a slot by typing one.
"""
from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict, deque
from typing import Any, Awaitable, Callable, Deque, Dict, FrozenSet, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import knowledge, settings
from bot.focus import question_sentence, question_segments
from bot.payloads import allowed_payloads
from bot.text import strip_control

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]

EMPTY_REPLY = "Votre message semble vide. Écrivez votre question sur la mutualisation, par exemple : « C'est quoi la mutualisation ? »"
TOO_LONG_REPLY = ("Votre message est trop long pour moi (plus de {limit} caractères). Pouvez-vous le "
                  "raccourcir ou le découper en quelques questions ?")
RATE_REPLY = "Vous écrivez très vite ! Attendez quelques secondes, puis posez votre question à nouveau."
ERROR_REPLY = ("Désolé, un problème technique m'empêche de répondre pour l'instant. Réessayez dans un "
               "moment, ou écrivez à {coordinator_name} : {contact_email}.")
SEGMENTS_KEY = "mutu_segments"  # read by actions/answer.py
QUESTION_KEY = "mutu_question"  # read by actions/answer.py
CONTEXT_KEY = "mutu_in_context"  # read by actions/answer.py
CONTEXT_MAX_WORDS = 14  # a follow-up short enough to lean on the thing of the last answer
MAX_SENDER_CHARS = 128
MAX_METADATA_DEPTH = 8
MAX_METADATA_CHARS = 8000


def error_reply() -> str:
    """ERROR_REPLY with the coordinator's name and address, from bot/links.yml."""
    links = settings.load_links()
    return ERROR_REPLY.format(coordinator_name=links.coordinator_name, contact_email=links.coordinator_email)


def depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counting no further than ``limit + 1``."""
    if limit < 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((depth(child, limit - 1) for child in children), default=0)


class RateLimiter:
    """At most ``limit`` messages a minute for each sender (0: no limit), in this process."""

    def __init__(self, limit: int, window: float = 60.0, max_senders: int = 10000) -> None:
        self.limit, self.window, self.max_senders = limit, window, max_senders
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def allow(self, sender: str, now: Optional[float] = None) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(sender, None) or deque()
        while hits and now - hits[0] > self.window:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        self._hits[sender] = hits
        while len(self._hits) > self.max_senders:
            self._hits.popitem(last=False)
        return allowed


class MessageGuard:
    """Decides, for one incoming text, what the bot reads, or what to answer straight away."""

    def __init__(self, allowed: FrozenSet[str], max_chars: int, limiter: RateLimiter) -> None:
        self.allowed, self.max_chars, self.limiter = allowed, max_chars, limiter

    @classmethod
    def from_settings(cls) -> "MessageGuard":
        conf = settings.load()
        return cls(allowed_payloads(), conf.max_message_chars, RateLimiter(conf.rate_limit_per_minute))

    def check(self, sender: str, text: Any) -> Tuple[Optional[str], Optional[str]]:
        """Return (text for the bot, None) or (None, direct reply)."""
        text = strip_control(text if isinstance(text, str) else "").strip()
        if not text:
            return None, EMPTY_REPLY
        if len(text) > self.max_chars:
            return None, TOO_LONG_REPLY.format(limit=f"{self.max_chars:,}".replace(",", "\u00a0"))
        if not self.limiter.allow(sender):
            return None, RATE_REPLY
        if text.startswith("/") and text not in self.allowed:
            text = text.lstrip("/").strip() or "?"
        return text, None

    def wrap(self, on_new_message: Handler, annotate: Optional[Handler] = None) -> Handler:
        async def guarded(message: UserMessage) -> Any:
            text, reply = self.check(message.sender_id, message.text)
            if reply is not None:
                await message.output_channel.send_text_message(message.sender_id, reply)
                return None
            message.text = text
            if annotate is not None:
                await annotate(message)
            return await on_new_message(message)

        return guarded


async def with_segments(agent: Any, text: str, metadata: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The metadata with the NLU parse of each question when ``text`` asks two (bot/focus.py).

    Parsed here, in the Rasa process, so the answer action can answer both; a client's own
    ``mutu_segments`` key is never trusted.
    """
    metadata = {k: v for k, v in (metadata or {}).items() if k not in (SEGMENTS_KEY, QUESTION_KEY, CONTEXT_KEY)} or None
    if not isinstance(text, str) or text.startswith("/") or agent is None:
        return metadata
    things = knowledge.load()
    segments = question_segments(text, lambda part: bool(knowledge.mentioned(things, part, short=True)))
    if len(segments) < 2:
        return await with_question(agent, text, metadata)
    parsed = [await _parsed(agent, segment) for segment in segments]
    if not all(parsed):
        return metadata
    return {**(metadata or {}), SEGMENTS_KEY: parsed}


async def with_question(agent: Any, text: str, metadata: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """For a long message with one question in it, the NLU parse of that sentence alone: the
    answer action keeps whichever of the two readings is surer (metadata ``mutu_question``)."""
    sentence = question_sentence(text)
    if sentence is None:
        return metadata
    parsed = await _parsed(agent, sentence)
    return {**(metadata or {}), QUESTION_KEY: parsed} if parsed else metadata


async def with_context(agent: Any, sender: str, text: str,
                       metadata: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """For a short follow-up, the NLU parse of the message with the thing of the last answer named
    after it (« elle travaille pour qui? (Isabelle Lapointe) »): the classifiers then read the
    question in its context, and the answer action keeps that reading when it is surer."""
    if not isinstance(text, str) or text.startswith("/") or agent is None or len(text.split()) > CONTEXT_MAX_WORDS:
        return metadata
    if not knowledge.leans_on_context(knowledge.load(), text):
        return metadata  # the answer action would not use it: no tracker read, no second parse
    label = await _context_label(agent, sender)
    if not label:
        return metadata
    parsed = await _parsed(agent, f"{text} ({label})")
    return {**(metadata or {}), CONTEXT_KEY: parsed} if parsed else metadata


async def _context_label(agent: Any, sender: str) -> Optional[str]:
    """How the thing of the conversation's last answer is named, or None."""
    try:
        tracker = await agent.tracker_store.retrieve(sender)
    except Exception:
        logger.exception("context read failed")
        return None
    key = tracker.get_slot("mutu_thing") if tracker is not None else None
    thing = knowledge.load().things.get(key or "")
    if thing is None:
        return None
    links = settings.load_links()
    return thing.label.replace("{coordinator_name}", links.coordinator_name)


async def _parsed(agent: Any, text: str) -> Optional[Dict[str, Any]]:
    """What the answer action needs of the NLU parse of ``text``; None when parsing fails
    (the message is then answered whole: never lost over this)."""
    try:
        parsed = await agent.parse_message(text)
    except Exception:
        logger.exception("partial parse failed")
        return None
    return {k: parsed.get(k) for k in ("text", "intent", "intent_ranking", "response_selector")}


def segment_annotator(agent: Any) -> Handler:
    async def annotate(message: UserMessage) -> None:
        metadata = await with_segments(agent, message.text or "", message.metadata)
        if not (metadata or {}).get(SEGMENTS_KEY):
            metadata = await with_context(agent, message.sender_id, message.text or "", metadata)
        message.metadata = metadata
    return annotate


def _bad_request(reason: str) -> HTTPResponse:
    return response.json({"error": "bad_request", "reason": reason}, status=400)


def parse_rest_body(body: Any) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """Validate a REST webhook body: (fields, None) or (None, the reason it is refused)."""
    if not isinstance(body, dict):
        return None, "The body must be a JSON object with 'sender' and 'message'."
    sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if not isinstance(sender, str) or not sender.strip():
        return None, "'sender' must be a non-empty string."
    if len(sender) > MAX_SENDER_CHARS:
        return None, f"'sender' must be at most {MAX_SENDER_CHARS} characters."
    if message is not None and not isinstance(message, str):
        return None, "'message' must be a string."
    if metadata is not None and not isinstance(metadata, dict):
        return None, "'metadata' must be a JSON object."
    if metadata and (depth(metadata, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH
                     or len(json.dumps(metadata)) > MAX_METADATA_CHARS):
        return None, f"'metadata' must be at most {MAX_METADATA_DEPTH} levels and {MAX_METADATA_CHARS} characters."
    return {"sender": sender, "message": message or "", "metadata": metadata}, None


class GuardedRestInput(RestInput):
    """``POST /webhooks/rest/webhook`` with a validated body and the message guard."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        guard = MessageGuard.from_settings()
        hook = Blueprint("mutu_rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                return _bad_request("The body is not valid JSON.")
            fields, reason = parse_rest_body(body)
            if fields is None:
                return _bad_request(reason or "invalid body")
            collector = CollectingOutputChannel()
            message = UserMessage(fields["message"], collector, fields["sender"],
                                  input_channel=self.name(), metadata=fields["metadata"])
            guarded = guard.wrap(on_new_message, annotate=segment_annotator(request.app.ctx.agent))
            try:
                await guarded(message)
            except Exception:
                logger.exception("rest message failed")
            if not collector.messages:  # the bot failed, or chose silence: never leave the user without an answer
                await collector.send_text_message(fields["sender"], error_reply())
            return response.json(collector.messages)

        return hook


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (used by the web widget) with the message guard."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return super().blueprint(MessageGuard.from_settings().wrap(on_new_message, annotate=app_annotator()))


def app_annotator(app_name: str = "rasa_server") -> Handler:
    """The segment annotator for channels that do not see the request (socket.io): the agent is
    found on Rasa's Sanic app when a message arrives."""
    async def annotate(message: UserMessage) -> None:
        try:
            agent = Sanic.get_app(app_name).ctx.agent
        except Exception:  # no app (tests, another server): answer the message whole
            return
        await segment_annotator(agent)(message)
    return annotate
