"""A small static server for the widget files and the demo page (`python -m bot web`)."""
from __future__ import annotations

import html
import mimetypes
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
ROUTES = {"/": "demo.html", "/index.html": "demo.html", "/widget.js": "widget.js",
          "/widget.css": "widget.css", "/autre-page.html": "autre-page.html"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def page_values(conf: Settings) -> Dict[str, str]:
    """What the HTML pages get filled in: the Rasa server's address, and the retention the
    widget applies to the history it keeps in the visitor's browser (``data-retention-days``)."""
    return {"{{RASA_URL}}": html.escape(conf.public_rasa_url, quote=True),
            "{{RETENTION_DAYS}}": str(conf.retention_days)}


def render(name: str, conf: Settings) -> Tuple[bytes, str]:
    """File bytes and content type; HTML pages get :func:`page_values` filled in."""
    path = STATIC / name
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".html"):
        text = path.read_text("utf-8")
        for placeholder, value in page_values(conf).items():
            text = text.replace(placeholder, value)
        return text.encode("utf-8"), ctype + "; charset=utf-8"
    if ctype.startswith("text/") or name.endswith(".js"):
        ctype += "; charset=utf-8"
    return path.read_bytes(), ctype


class Handler(BaseHTTPRequestHandler):
    server_version = "MutuWeb"

    def __init__(self, *args: object, conf: Settings, **kwargs: object) -> None:
        self.conf = conf
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(HTTPStatus.OK, b'{"status":"ok"}', "application/json")
            return
        name = ROUTES.get(path)
        if name is None or not (STATIC / name).exists():
            self._send(HTTPStatus.NOT_FOUND, "Page introuvable".encode("utf-8"), "text/plain; charset=utf-8")
            return
        body, ctype = render(name, self.conf)
        extra = {"Access-Control-Allow-Origin": "*"} if name.endswith((".js", ".css")) else {}
        self._send(HTTPStatus.OK, body, ctype, extra)

    def _send(self, status: HTTPStatus, body: bytes, ctype: str,
              extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # no access log: it would hold visitors' addresses


def serve(conf: Settings) -> None:
    server = ThreadingHTTPServer((conf.host, conf.web_port), partial(Handler, conf=conf))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
