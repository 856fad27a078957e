"""POST /feedback: the widget's 👍/👎 under an answer (and the optional « Qu'est-ce qui
manquait? » line), from the origins of MUTU_CORS_ORIGINS only; bounded and rate-limited."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.settings import Settings
from bot.web.clients import client_address

MAX_BODY = 4096
logger = logging.getLogger("mutu.feedback")


def _cors(conf: Settings, request: Request) -> Optional[Dict[str, str]]:
    """CORS headers for an allowed origin; {} without an Origin header; None for another origin."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    if origin not in conf.cors_origins:
        return None
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _error(status: int, reason: str, headers: Dict[str, str]) -> response.HTTPResponse:
    return response.json({"ok": False, "error": reason}, status=status, headers=headers)


def register(app: Sanic, conf: Settings) -> None:
    limiters: Dict[str, Any] = {}

    def store() -> Any:
        from bot.console.store import app_store
        return app_store(app, conf)

    def allowed(client: str, sender: str) -> bool:
        """60 votes per address (a busy office shares one) and 20 per conversation in 10 minutes,
        counted in the database for every web process."""
        if not limiters:
            from bot.console.auth import RateLimiter
            limiters["client"] = RateLimiter(store().engine, store().key, "feedback-client", 60, 600)
            limiters["conversation"] = RateLimiter(store().engine, store().key, "feedback-conv", 20, 600)
        return limiters["client"].allow(client) and limiters["conversation"].allow(sender)

    async def preflight(request: Request) -> response.HTTPResponse:
        headers = _cors(conf, request)
        if headers is None:
            return response.empty(status=403)
        headers.update({"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type",
                        "Access-Control-Max-Age": "600"})
        return response.empty(status=204, headers=headers)

    async def post(request: Request) -> response.HTTPResponse:
        headers = _cors(conf, request)
        if headers is None:
            return _error(403, "origin not allowed", {})
        if len(request.body or b"") > MAX_BODY:
            return _error(413, "body too large", headers)
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            return _error(400, "body must be JSON", headers)
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object", headers)
        sender, vote = body.get("sender"), body.get("vote")
        question, comment = body.get("question", ""), body.get("comment", "")
        if not isinstance(sender, str) or not 1 <= len(sender) <= 128:
            return _error(400, "sender must be a string of 1 to 128 characters", headers)
        if not isinstance(question, str) or not isinstance(comment, str) or len(question) > 2500 or len(comment) > 500:
            return _error(400, "question (2500) or comment (500) missing or too long", headers)
        if vote is None and not comment.strip():
            return _error(400, "vote (1 or -1) or comment needed", headers)
        if vote is not None and vote not in (1, -1):
            return _error(400, "vote must be 1 or -1", headers)
        loop = asyncio.get_running_loop()
        client = client_address(request, conf.trusted_proxies)
        if not await loop.run_in_executor(None, allowed, client, sender):
            return _error(429, "too many", headers)
        if vote is None:
            found = await loop.run_in_executor(None, store().add_comment, sender, comment)
            return response.json({"ok": found}, status=200 if found else 404, headers=headers)
        await loop.run_in_executor(None, store().add_feedback, sender, vote, question, comment)
        logger.info("feedback %s stored", "up" if vote > 0 else "down")
        return response.json({"ok": True}, headers=headers)

    app.add_route(preflight, "/feedback", methods=["OPTIONS"], name="feedback_preflight")
    app.add_route(post, "/feedback", methods=["POST"], name="feedback")
