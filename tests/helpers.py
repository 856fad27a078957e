"""Helpers shared by the tests: HTTP calls to the running bot and answer matching."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.text import fold


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None,
         timeout: float = 60) -> Tuple[int, Any]:
    """POST raw bytes; return (status, decoded JSON or text)."""
    req = urllib.request.Request(url, body, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def get_json(url: str, token: Optional[str] = None) -> Any:
    if token:
        url += ("&" if "?" in url else "?") + f"token={token}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


class Conversation:
    """One REST conversation with the running bot."""

    def __init__(self, rasa_url: str, sender: Optional[str] = None) -> None:
        self.url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.sender = sender or f"test-{uuid.uuid4().hex[:12]}"

    def say(self, text: Any) -> List[Dict[str, Any]]:
        status, replies = post(self.url, json.dumps({"sender": self.sender, "message": text}).encode())
        assert status == 200, (status, replies)
        assert isinstance(replies, list)
        return replies


def flat(replies: Sequence[Dict[str, Any]]) -> str:
    """Texts and button titles of a reply, folded (no case, no accents)."""
    parts: List[str] = []
    for reply in replies:
        parts.append(reply.get("text") or "")
        parts.extend(button.get("title") or "" for button in reply.get("buttons") or [])
    return fold("\n".join(parts))


def matches(replies: Sequence[Dict[str, Any]], groups: Sequence[Sequence[str]]) -> bool:
    text = flat(replies)
    return all(any(fold(alt) in text for alt in group) for group in groups)
