"""Real delivery peers on loopback for the tests: an SMTP server (aiosmtpd) and an HTTP server
that records webhook calls. Both can be stopped and restarted on the same port (outages)."""
from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

from aiosmtpd.controller import Controller


class _Recorder:
    def __init__(self) -> None:
        self.messages: List[EmailMessage] = []
        self.envelopes: List[Dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                policy=policy.default))
        self.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 OK"


class SmtpPeer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.recorder = _Recorder()
        self.controller: Optional[Controller] = None

    @property
    def messages(self) -> List[EmailMessage]:
        return self.recorder.messages

    def start(self) -> "SmtpPeer":
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


class WebhookPeer:
    """Records POST bodies and headers; answers ``status`` (e.g. 503 to simulate an outage)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: List[Dict[str, Any]] = []
        self.status = 200
        self.server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/mutu"

    def start(self) -> "WebhookPeer":
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if peer.status < 300:
                    peer.calls.append({"body": body, "headers": dict(self.headers),
                                       "json": json.loads(body.decode("utf-8"))})
                self.send_response(peer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
