"""`python -m bot run`: start the action server, the Rasa server and the web page, wait until
each one answers, print their URLs, and stop them all cleanly on Ctrl-C (or SIGTERM)."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot.db import tracker_store_config
from bot.inquiries.delivery import describe as describe_channels
from bot.settings import ROOT, Settings

MODEL_NAME = "mutu"


@dataclass
class Service:
    name: str
    argv: List[str]
    ready_url: str
    env: Dict[str, str]
    process: Optional[subprocess.Popen] = None


def child_env(conf: Settings, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for every child: quiet, no telemetry, the project importable."""
    env = dict(os.environ)
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
    })
    env.update(extra or {})
    return env


def tensorflow_threads(conf: Settings) -> Dict[str, str]:
    """Rasa's own TensorFlow thread settings. One message's tensors are small and the server has
    one event loop: a single thread per op spends no CPU on handing work between threads (measured:
    +18 % messages/s at 8 clients on 2 cores). 0 keeps TensorFlow's default."""
    if not conf.tf_threads:
        return {}
    return {"TF_INTRA_OP_PARALLELISM_THREADS": str(conf.tf_threads),
            "TF_INTER_OP_PARALLELISM_THREADS": str(conf.tf_threads)}


def model_path(conf: Settings) -> Path:
    return conf.model_dir / f"{MODEL_NAME}.tar.gz"


def endpoints_config(conf: Settings, token: Optional[str] = None) -> Dict[str, object]:
    """Rasa endpoints: our action server, and the stores of the chosen profile.

    ``sqlite`` (default): the SQL tracker store in a SQLite file under MUTU_DATA_DIR, Rasa's
    in-memory lock store: one Rasa server. ``scale``: the SQL tracker store on PostgreSQL and
    the Redis lock store, shared by any number of Rasa servers (and Sanic workers).
    """
    endpoints: Dict[str, object] = {"action_endpoint": {"url": conf.actions_url},
                                    "nlg": {"type": "bot.nlg.LinksNaturalLanguageGenerator"}}
    endpoints["tracker_store"] = tracker_store_config(conf)
    if conf.model_pull_seconds:  # the published model, from the web processes (bot/console/model_server.py)
        endpoints["models"] = {"url": conf.published_model_url, "token": token or conf.api_token,
                               "wait_time_between_pulls": conf.model_pull_seconds}
    if conf.store_profile == "sqlite":
        return endpoints
    endpoints["lock_store"] = {"type": "bot.locks.ResilientRedisLockStore", "url": conf.redis_host, "port": conf.redis_port,
                               "db": conf.redis_db, "password": conf.redis_password, "key_prefix": "mutu"}
    return endpoints


def credentials_config() -> Dict[str, object]:
    return {
        "bot.channels.GuardedRestInput": {},
        "bot.channels.GuardedSocketIOInput": {
            "user_message_evt": "user_uttered",
            "bot_message_evt": "bot_uttered",
            "session_persistence": True,
        },
    }


def write_runtime_config(conf: Settings, token: Optional[str] = None) -> Dict[str, Path]:
    """Write the endpoints and credentials files the Rasa server reads, under MUTU_DATA_DIR."""
    conf.data_dir.mkdir(parents=True, exist_ok=True)
    paths = {"endpoints": conf.data_dir / "endpoints.yml", "credentials": conf.data_dir / "credentials.yml"}
    paths["endpoints"].write_text(yaml.safe_dump(endpoints_config(conf, token)), "utf-8")
    paths["credentials"].write_text(yaml.safe_dump(credentials_config()), "utf-8")
    paths["endpoints"].chmod(0o600)  # it may hold the database password and the API token
    return paths


ALL_SERVICES = ("actions", "rasa", "web", "worker")


def services(conf: Settings, only: Optional[List[str]] = None) -> List[Service]:
    """The processes of a Mutu installation (``only``: a subset, e.g. one more Rasa server)."""
    # Rasa's HTTP API is always behind a token: MUTU_API_TOKEN, or, when none is given, a random one
    # known only to the launcher's own children (the console loads published models with it).
    token = conf.api_token or secrets.token_hex(32)
    paths = write_runtime_config(conf, token)
    py = sys.executable
    rasa_argv = [py, "-m", "rasa", "run", "--model", str(model_path(conf)),
                 "--endpoints", str(paths["endpoints"]), "--credentials", str(paths["credentials"]),
                 "--interface", conf.host, "--port", str(conf.rasa_port),
                 "--cors", *conf.cors_origins]
    rasa_argv += ["--enable-api", f"--auth-token={token}"]  # one argument, even if it starts with "-"
    all_services = [
        Service("actions", [py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(conf.actions_port)],
                f"http://{conf.host}:{conf.actions_port}/health", child_env(conf, {"SANIC_HOST": conf.host})),
        Service("rasa", rasa_argv, f"{conf.rasa_url}/webhooks/rest/",
                child_env(conf, {"SANIC_REQUEST_MAX_SIZE": str(conf.max_body_bytes),
                                 "SANIC_WORKERS": str(conf.sanic_workers),
                                 # a conversation whose server died is free again after this long
                                 "TICKET_LOCK_LIFETIME": str(conf.lock_lifetime_seconds),
                                 **tensorflow_threads(conf)})),
        Service("web", [py, "-m", "bot", "web"], f"{conf.web_url}/healthz", child_env(conf, {"MUTU_API_TOKEN": token})),
        Service("worker", [py, "-m", "bot", "worker"], "", child_env(conf)),
    ]
    return [s for s in all_services if s.name in (only or ALL_SERVICES)]


def die_with_parent() -> None:
    """In a child, before exec: get SIGTERM if the launcher dies (Linux), so that no service
    outlives a launcher that was killed."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def is_ready(url: str) -> bool:
    """True when ``url`` answers 200; a service without a URL is ready once started."""
    if not url:
        return True
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_ready(items: List[Service], timeout: float) -> None:
    """Wait until every service answers its readiness URL; fail fast if one exits."""
    deadline = time.monotonic() + timeout
    pending = list(items)
    while pending:
        for service in list(pending):
            if service.process and service.process.poll() is not None:
                raise RuntimeError(f"{service.name} stopped with code {service.process.returncode}")
            if is_ready(service.ready_url):
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            raise TimeoutError("not ready after %ds: %s" % (timeout, ", ".join(s.name for s in pending)))
        time.sleep(0.5)


def stop(items: List[Service], grace: float = 15.0) -> None:
    for service in items:
        if service.process and service.process.poll() is None:
            service.process.terminate()
    deadline = time.monotonic() + grace
    for service in items:
        if service.process:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()


def describe_delivery(conf: Settings) -> str:
    routes = conf.inquiry_routes
    if not routes:
        return "go NOWHERE: kept in the outbox until the retention deletes them (see the warning above)"
    sent = [c for c in describe_channels(conf) if c != "none"]
    parts = (["delivered by " + ", ".join(sent)] if sent else []) + \
        (["listed in the console (/console)"] if "console" in routes else [])
    return "; ".join(parts)


def delivery_warning(conf: Settings) -> Optional[str]:
    """A loud warning when confirmed inquiries would reach nobody (no e-mail, no webhook, no
    console), a note when only the console lists them; None when they are delivered."""
    if "email" in conf.inquiry_routes or "webhook" in conf.inquiry_routes:
        return None
    if conf.inquiry_routes:
        return ("Note: inquiries are not sent anywhere (no MUTU_SMTP_HOST, no MUTU_WEBHOOK_URL); they are only "
                "listed in the coordinator's console (/console), and nobody is notified of a new one.")
    rule = "!" * 78
    return "\n".join([
        rule,
        "WARNING: INQUIRIES HAVE NOWHERE TO GO.",
        "No MUTU_SMTP_HOST, no MUTU_WEBHOOK_URL, and the coordinator's console is off (no",
        "MUTU_CONSOLE_PASSWORD): a visitor's confirmed inquiry waits in the outbox",
        f"({conf.inquiry_db}), nobody is told, and the retention deletes it after {conf.retention_days} days.",
        "The consent and the confirmation tell visitors so. Set one of them to deliver inquiries.",
        rule,
    ])


def banner(conf: Settings) -> str:
    return "\n".join([
        "",
        "Mutu est prêt / Mutu is ready:",
        f"  Rasa server     {conf.rasa_url}  (REST: {conf.rasa_url}/webhooks/rest/webhook, socket.io)",
        f"  Action server   http://{conf.host}:{conf.actions_port}",
        f"  Widget demo     {conf.web_url}/",
        f"  Inquiries       {describe_delivery(conf)} (outbox: {conf.inquiry_db})",
        f"  try: curl -s -X POST {conf.rasa_url}/webhooks/rest/webhook "
        "-H 'Content-Type: application/json' -d '{\"sender\": \"moi\", \"message\": \"c quoi la mutualisation\"}'",
        "Ctrl-C stops everything.",
        "",
    ])


def run(conf: Settings, only: Optional[List[str]] = None, ready_timeout: float = 300.0) -> int:
    if (not only or "rasa" in only) and not model_path(conf).exists() and not conf.model_pull_seconds:
        print(f"No trained model at {model_path(conf)}: run `make model` (or `make run`).", file=sys.stderr)
        return 2
    warning = delivery_warning(conf)
    if warning and (not only or {"actions", "worker"} & set(only)):  # the services that take inquiries
        print(warning, file=sys.stderr, flush=True)
    items = services(conf, only)
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping["flag"]:  # the first signal stops everything; later ones wait for that
            stopping["flag"] = True
            raise KeyboardInterrupt

    # Both explicitly: a shell's `cmd &` starts us with SIGINT ignored, and children inherit that.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for service in items:
            service.process = subprocess.Popen(service.argv, cwd=ROOT, env=service.env,
                                               preexec_fn=die_with_parent)
        wait_ready(items, ready_timeout)
        print(banner(conf), flush=True)
        if warning and (not only or {"actions", "worker"} & set(only)):
            print(warning, file=sys.stderr, flush=True)  # again, below the services' start-up logs
        while all(s.process and s.process.poll() is None for s in items):
            time.sleep(1)
        failed = [s.name for s in items if s.process and s.process.poll() is not None]
        print(f"Stopped unexpectedly: {', '.join(failed)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nArrêt en cours / stopping…", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"Start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(items)
