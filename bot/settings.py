"""Every Mutu setting, read from ``MUTU_*`` environment variables in this one module.

Names, addresses and links quoted to users come from ``bot/links.yml`` (the coordinator's file);
a few of them can be overridden here. Nothing is read at import time: call :func:`load`.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import yaml

ROOT = Path(__file__).resolve().parent.parent
LINKS_FILE = Path(__file__).resolve().parent / "links.yml"
SMTP_TLS_MODES = ("starttls", "ssl", "none")
STORE_PROFILES = ("sqlite", "scale")
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class SettingsError(ValueError):
    """A MUTU_* variable has a value that cannot be used."""


@dataclass(frozen=True)
class Links:
    """What the bot quotes: the organisation, its coordinator, the TIESS guide, references."""

    org_name: str
    site_url: Optional[str]
    coordinator_name: str
    coordinator_title: str
    coordinator_email: str
    # the delay the confirmation quotes (« dans les deux jours ouvrables »): none unless set
    response_time: Optional[str]
    tiess_guide_title: str
    tiess_guide_publisher: str
    tiess_guide_url: Optional[str]
    references: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    data_dir: Path
    model_dir: Path
    api_token: Optional[str]
    public_rasa_url: str
    cors_origins: Tuple[str, ...]
    max_message_chars: int
    max_body_bytes: int
    rate_limit_per_minute: int
    smtp_host: Optional[str]
    smtp_port: int
    smtp_user: Optional[str]
    smtp_password: Optional[str]
    smtp_tls: str
    mail_from: str
    mail_to: str
    webhook_url: Optional[str]
    webhook_secret: Optional[str]
    http_timeout: float
    inquiries_per_hour: int
    retention_days: int
    retention_interval_seconds: float
    retry_base_seconds: float
    retry_max_seconds: float
    worker_poll_seconds: float
    max_question_chars: int
    store_profile: str
    pg_host: str
    pg_port: int
    pg_db: str
    pg_user: str
    pg_password: Optional[str]
    redis_host: str
    redis_port: int
    redis_db: int
    redis_password: Optional[str]
    sanic_workers: int
    lock_lifetime_seconds: int
    links: Links
    # events of a conversation read per message behind the state checkpoint (bot/tracker_store.py);
    # 0: Rasa's own SQL tracker store (the whole session at every message)
    tracker_window: int = 60
    # TensorFlow threads per op in the Rasa server (0: TensorFlow's default, one per core)
    tf_threads: int = 1
    # the coordinator's console (off unless a password or its hash is given)
    console_password: Optional[str] = None
    console_password_hash: Optional[str] = None
    console_secure_cookie: bool = False
    console_secret: Optional[str] = None
    project_dir: Path = ROOT
    # reverse proxies whose X-Forwarded-For names the client (networks; empty: the peer is the client)
    trusted_proxies: Tuple[IPNetwork, ...] = ()
    # seconds between two pulls of the published model by each Rasa server (0: the console loads
    # published models with PUT /model into MUTU_RASA_PORT's server, from MUTU_MODEL_DIR)
    model_pull_seconds: int = 0
    model_url: Optional[str] = None

    @property
    def console_enabled(self) -> bool:
        return bool(self.console_password or self.console_password_hash)

    @property
    def inquiry_routes(self) -> Tuple[str, ...]:
        """Where a confirmed inquiry goes: ``email`` (MUTU_SMTP_HOST), ``webhook`` (MUTU_WEBHOOK_URL),
        ``console`` (the coordinator's console lists it). None of them: it waits in the outbox
        until the retention deletes it, and nobody is told."""
        return tuple(name for name, on in (("email", bool(self.smtp_host)), ("webhook", bool(self.webhook_url)),
                                           ("console", self.console_enabled)) if on)

    @property
    def console_db(self) -> Path:
        return self.data_dir / "console.db"

    @property
    def published_model_url(self) -> str:
        """Where Rasa servers pull the published model from (MUTU_MODEL_URL, else this host's web server)."""
        return self.model_url or f"{self.web_url}/modele/mutu.tar.gz"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    @property
    def tracker_db(self) -> Path:
        return self.data_dir / "rasa_tracker.db"

    @property
    def inquiry_db(self) -> Path:
        return self.data_dir / "inquiries.db"


def _text(env: Mapping[str, str], name: str, default: Optional[str] = None) -> Optional[str]:
    value = env.get(f"MUTU_{name}", "").strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int = 65535) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"MUTU_{name} must be a whole number, not {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"MUTU_{name} must be between {low} and {high}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _text(env, name)
    try:
        return float(raw) if raw is not None else default
    except ValueError as exc:
        raise SettingsError(f"MUTU_{name} must be a number, not {raw!r}") from exc


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = (_text(env, name) or "").lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on", "oui"):
        return True
    if raw in ("0", "false", "no", "off", "non"):
        return False
    raise SettingsError(f"MUTU_{name} must be true or false, not {raw!r}")


def _networks(env: Mapping[str, str], name: str) -> Tuple[IPNetwork, ...]:
    """A comma list of IP addresses or CIDR networks."""
    found = []
    for item in (_text(env, name) or "").split(","):
        if item.strip():
            try:
                found.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise SettingsError(f"MUTU_{name}: {item.strip()!r} is not an IP address or network") from exc
    return tuple(found)


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise SettingsError(f"MUTU_{name} must be more than 0, not {value:g}")
    return value


def load_links(env: Optional[Mapping[str, str]] = None, path: Path = LINKS_FILE) -> Links:
    """Read the coordinator's links file, then apply the MUTU_* overrides."""
    env = os.environ if env is None else env
    data: Dict[str, Any] = yaml.safe_load(Path(_text(env, "LINKS_FILE", str(path))).read_text("utf-8"))
    org, person, guide = data["organisation"], data["coordinator"], data["tiess_guide"]
    return Links(
        org_name=org["name"],
        site_url=_text(env, "SITE_URL", org.get("site_url")),
        coordinator_name=person["name"],
        coordinator_title=person["title"],
        coordinator_email=person["email"],
        response_time=_text(env, "RESPONSE_TIME", person.get("response_time")) or None,
        tiess_guide_title=guide["title"],
        tiess_guide_publisher=guide["publisher"],
        tiess_guide_url=_text(env, "TIESS_GUIDE_URL", guide.get("url")),
        references={k: v for k, v in (data.get("references") or {}).items() if v},
    )


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, read once (long-running services whose environment is fixed)."""
    return load()


def load(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Build the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    links = load_links(env)
    host = _text(env, "HOST", "127.0.0.1")
    web_port = _int(env, "WEB_PORT", 8000, 1)
    rasa_port = _int(env, "RASA_PORT", 5005, 1)
    data_dir = Path(_text(env, "DATA_DIR", str(ROOT / "var"))).resolve()
    smtp_tls = (_text(env, "SMTP_TLS", "starttls") or "").lower()
    if smtp_tls not in SMTP_TLS_MODES:
        raise SettingsError(f"MUTU_SMTP_TLS must be one of {', '.join(SMTP_TLS_MODES)}")
    store_profile = (_text(env, "STORE_PROFILE", "sqlite") or "").lower()
    if store_profile not in STORE_PROFILES:
        raise SettingsError(f"MUTU_STORE_PROFILE must be one of {', '.join(STORE_PROFILES)}")
    sanic_workers = _int(env, "SANIC_WORKERS", 1, 1, 64)
    if sanic_workers > 1 and store_profile == "sqlite":
        raise SettingsError("MUTU_SANIC_WORKERS > 1 needs MUTU_STORE_PROFILE=scale (a Redis lock store)")
    tracker_window = _int(env, "TRACKER_WINDOW", 60, 0, 100000)
    if 0 < tracker_window < 20:
        raise SettingsError("MUTU_TRACKER_WINDOW must be 0 (Rasa's own SQL store, whole sessions) or at least 20")
    default_origins = f"http://{host}:{web_port},http://localhost:{web_port}"
    origins = tuple(o.strip() for o in _text(env, "CORS_ORIGINS", default_origins).split(",") if o.strip())
    return Settings(
        host=host,
        rasa_port=rasa_port,
        actions_port=_int(env, "ACTIONS_PORT", 5055, 1),
        web_port=web_port,
        data_dir=data_dir,
        model_dir=Path(_text(env, "MODEL_DIR", str(ROOT / "models"))).resolve(),
        api_token=_text(env, "API_TOKEN"),
        public_rasa_url=_text(env, "PUBLIC_RASA_URL", f"http://{host}:{rasa_port}"),
        cors_origins=origins,
        max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 2500, 10, 100000),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000, 1000, 100_000_000),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 30, 0, 100000),
        smtp_host=_text(env, "SMTP_HOST"),
        smtp_port=_int(env, "SMTP_PORT", 587, 1),
        smtp_user=_text(env, "SMTP_USER"),
        smtp_password=_text(env, "SMTP_PASSWORD"),
        smtp_tls=smtp_tls,
        mail_from=_text(env, "MAIL_FROM", "mutu@localhost"),
        mail_to=_text(env, "MAIL_TO", links.coordinator_email),
        webhook_url=_text(env, "WEBHOOK_URL"),
        webhook_secret=_text(env, "WEBHOOK_SECRET"),
        http_timeout=_float(env, "HTTP_TIMEOUT", 10.0),
        inquiries_per_hour=_int(env, "INQUIRIES_PER_HOUR", 3, 0, 1000),
        retention_days=_int(env, "RETENTION_DAYS", 90, 1, 3650),
        retention_interval_seconds=_positive(env, "RETENTION_INTERVAL_SECONDS", 3600.0),
        retry_base_seconds=_float(env, "RETRY_BASE_SECONDS", 30.0),
        retry_max_seconds=_float(env, "RETRY_MAX_SECONDS", 3600.0),
        worker_poll_seconds=_float(env, "WORKER_POLL_SECONDS", 2.0),
        max_question_chars=_int(env, "MAX_QUESTION_CHARS", 2000, 10, 20000),
        store_profile=store_profile,
        pg_host=_text(env, "PG_HOST", "127.0.0.1"),
        pg_port=_int(env, "PG_PORT", 5432, 1),
        pg_db=_text(env, "PG_DB", "mutu"),
        pg_user=_text(env, "PG_USER", "mutu"),
        pg_password=_text(env, "PG_PASSWORD"),
        redis_host=_text(env, "REDIS_HOST", "127.0.0.1"),
        redis_port=_int(env, "REDIS_PORT", 6379, 1),
        redis_db=_int(env, "REDIS_DB", 0, 0, 1000),
        redis_password=_text(env, "REDIS_PASSWORD"),
        sanic_workers=sanic_workers,
        lock_lifetime_seconds=_int(env, "LOCK_LIFETIME_SECONDS", 10, 1, 600),
        tracker_window=tracker_window,
        tf_threads=_int(env, "TF_THREADS", 1, 0, 256),
        links=links,
        console_password=env.get("MUTU_CONSOLE_PASSWORD") or None,
        console_password_hash=_text(env, "CONSOLE_PASSWORD_HASH"),
        console_secure_cookie=_flag(env, "CONSOLE_SECURE_COOKIE"),
        console_secret=_text(env, "CONSOLE_SECRET"),
        project_dir=Path(_text(env, "PROJECT_DIR", str(ROOT))).resolve(),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        model_pull_seconds=_int(env, "MODEL_PULL_SECONDS", 0, 0, 86400),
        model_url=_text(env, "MODEL_URL"),
    )
