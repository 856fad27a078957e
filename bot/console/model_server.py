"""GET /modele/mutu.tar.gz: the published model, for the Rasa servers to pull (Rasa's ``models``
endpoint, written by the launcher when MUTU_MODEL_PULL_SECONDS is set), from the console's
database, so that no Rasa server needs the machine or the folder where the model was trained.

Rasa sends the fingerprint of the model it has in ``If-None-Match``; the answer is 304 while it
is still the published one, else the model with its SHA-256 as ``ETag`` and its name in the
``filename`` header (the name Rasa's ``/status`` then gives). The API token is required. Before
anything is published, the model trained on the machine of the first web process asked
(MUTU_MODEL_DIR/mutu.tar.gz) is stored as the first published model."""
from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from typing import Any, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.console import shared
from bot.settings import Settings

ROUTE = "/modele/mutu.tar.gz"
logger = logging.getLogger("mutu.models")


def authorised(conf: Settings, request: Request) -> bool:
    token = request.args.get("token") or ""
    return bool(conf.api_token) and hmac.compare_digest(token.encode("utf-8"), conf.api_token.encode("utf-8"))


def fresh(request: Request, model: shared.StoredModel) -> bool:
    """True when the client already has this model (its If-None-Match is the model's SHA-256)."""
    tags = [tag.strip().strip('"') for tag in (request.headers.get("if-none-match") or "").split(",")]
    return model.sha256 in tags


def register(app: Sanic, conf: Settings) -> None:
    seeding = threading.Lock()

    def current() -> Optional[shared.StoredModel]:
        from bot.console.store import app_store
        from bot.launcher import model_path
        engine = app_store(app, conf).engine
        with seeding:  # one upload of the first model per process (and one per database: see seed_model)
            return shared.published_model(engine) or shared.seed_model(engine, model_path(conf))

    async def model(request: Request) -> Any:
        if not authorised(conf, request):
            return response.text("Accès refusé", status=403)
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, current)
        if found is None:
            return response.text("Aucun modèle publié", status=404)
        if fresh(request, found):
            return response.empty(status=304, headers={"ETag": found.sha256})
        from bot.console.store import app_store
        engine = app_store(app, conf).engine
        stream = await request.respond(content_type="application/gzip", headers={
            "ETag": found.sha256, "filename": found.name, "Content-Length": str(found.size),
            "Cache-Control": "no-store"})
        chunks = shared.model_chunks(engine, found)
        while True:
            data = await loop.run_in_executor(None, next, chunks, None)
            if data is None:
                break
            await stream.send(data)
        await stream.eof()
        logger.info("published model %s sent", found.name)
        return None

    app.add_route(model, ROUTE, methods=["GET"], name="published_model")
