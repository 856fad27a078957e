"""The web server (`python -m bot web`): a Sanic app serving the widget files and its demo pages,
the widget's feedback endpoint, and the coordinator's console under /console when
MUTU_CONSOLE_PASSWORD (or MUTU_CONSOLE_PASSWORD_HASH) is set."""
from __future__ import annotations

import html
import itertools
import logging
import mimetypes
from pathlib import Path
from typing import Dict, Tuple

from sanic import Sanic, response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.request import Request

from bot.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
ROUTES = {"/": "demo.html", "/index.html": "demo.html", "/widget.js": "widget.js",
          "/widget.css": "widget.css", "/autre-page.html": "autre-page.html",
          "/console.css": "console.css", "/console.js": "console.js"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
_APP_NUMBER = itertools.count(1)
logger = logging.getLogger("mutu.web")


def page_values(conf: Settings) -> Dict[str, str]:
    """What the HTML pages get filled in: the Rasa server's address."""
    return {"{{RASA_URL}}": html.escape(conf.public_rasa_url, quote=True)}


def script_values(conf: Settings) -> Dict[str, str]:
    """What widget.js gets filled in: the retention it applies to the history it keeps in the
    visitor's browser, the very setting the consent quotes (MUTU_RETENTION_DAYS)."""
    return {"{{RETENTION_DAYS}}": str(conf.retention_days)}


def render(name: str, conf: Settings) -> Tuple[bytes, str]:
    """File bytes and content type; HTML pages get :func:`page_values` filled in, widget.js
    :func:`script_values`."""
    path = STATIC / name
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    filled = page_values(conf) if name.endswith(".html") else script_values(conf) if name == "widget.js" else None
    if filled is not None:
        text = path.read_text("utf-8")
        for placeholder, value in filled.items():
            text = text.replace(placeholder, value)
        return text.encode("utf-8"), ctype + "; charset=utf-8"
    if ctype.startswith("text/") or name.endswith(".js"):
        ctype += "; charset=utf-8"
    return path.read_bytes(), ctype


def create_app(conf: Settings) -> Sanic:
    app = Sanic(f"mutu_web_{next(_APP_NUMBER)}")
    app.config.MOTD = False
    app.config.REQUEST_MAX_SIZE = 1_000_000  # the console's forms and the feedback are small
    app.config.FORWARDED_SECRET = None
    app.ctx.conf = conf

    async def healthz(_request: Request) -> response.HTTPResponse:
        return response.raw(b'{"status":"ok"}', content_type="application/json")

    def static_handler(name: str):  # noqa: ANN202
        async def handler(_request: Request) -> response.HTTPResponse:
            if not (STATIC / name).exists():
                raise NotFound("Page introuvable")
            body, ctype = render(name, conf)
            extra = {"Access-Control-Allow-Origin": "*"} if name.endswith((".js", ".css")) else {}
            return response.raw(body, content_type=ctype, headers=extra)
        return handler

    app.add_route(healthz, "/healthz", methods=["GET"], name="healthz")
    for number, (path, name) in enumerate(ROUTES.items()):
        app.add_route(static_handler(name), path, methods=["GET"], name=f"static_{number}")

    from bot.console import feedback
    feedback.register(app, conf)
    if conf.console_enabled:
        from bot.console import web as console
        console.register(app, conf)
    if conf.model_pull_seconds:  # the Rasa servers pull the published model from here
        from bot.console import model_server
        model_server.register(app, conf)

    @app.exception(NotFound)
    async def not_found(_request: Request, _exc: Exception) -> response.HTTPResponse:
        return response.text("Page introuvable", status=404)

    @app.exception(MethodNotSupported)
    async def not_allowed(_request: Request, _exc: Exception) -> response.HTTPResponse:
        return response.text("Méthode non permise", status=405)

    @app.middleware("response")
    async def headers(request: Request, resp: response.HTTPResponse) -> None:
        resp.headers.setdefault("Cache-Control", "no-cache")
        for key, value in SECURITY_HEADERS.items():
            resp.headers[key] = value
        if request.path.startswith("/console"):
            resp.headers["X-Frame-Options"] = "DENY"
            resp.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
            resp.headers["Cache-Control"] = "no-store"

    return app


def serve(conf: Settings) -> None:
    # No access log: it would hold visitors' addresses.
    create_app(conf).run(host=conf.host, port=conf.web_port, access_log=False, workers=1)
