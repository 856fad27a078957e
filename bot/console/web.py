"""The coordinator's console under /console: sign-in, Tableau de bord, Demandes.

Every page and export needs a session (else: to /console/login); every POST needs the
session's CSRF token (else 403); Jinja2 escapes everything shown."""
from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request

from bot.console import auth
from bot.console.store import CATEGORY_LABELS, MISSED, QUEBEC, ConsoleStore, app_store
from bot.settings import Settings
from bot.web.clients import client_address

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE, LOGIN_CSRF_COOKIE = "mutu_console", "mutu_console_csrf"
logger = logging.getLogger("mutu.console")
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
NAV = [("tableau", "/console", "Tableau de bord"), ("demandes", "/console/demandes", "Demandes"),
       ("ameliorer", "/console/ameliorer", "À améliorer"), ("reponses", "/console/reponses", "Réponses"),
       ("publier", "/console/publier", "Publier")]


def quand(ts: Optional[float]) -> str:
    """``29 novembre 2026, 13 h 05`` in Québec time."""
    if not ts:
        return ""
    moment = datetime.fromtimestamp(ts, QUEBEC)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment.hour} h {moment.minute:02d}"


def nombre(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u00a0")


def pourcent(value: float) -> str:
    return f"{value * 100:.0f}\u00a0%"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    env.filters.update(quand=quand, nombre=nombre, pourcent=pourcent)
    return env


def topic_labels(conf: Settings) -> Dict[str, str]:
    """Short names of the topics: the title of the first button pointing to each answer
    (data/responses/faq.yml), and « <thing> (précision) » for facts of bot/knowledge.yml."""
    labels: Dict[str, str] = {}
    try:
        faq = yaml.safe_load((conf.project_dir / "data" / "responses" / "faq.yml").read_text("utf-8"))
        for variants in (faq.get("responses") or {}).values():
            for variant in variants or []:
                for button in variant.get("buttons") or []:
                    payload = str(button.get("payload", ""))
                    if payload.startswith("/faq/"):
                        labels.setdefault(payload[5:], str(button.get("title", "")).rstrip(" ?") or payload[5:])
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    try:
        knowledge = yaml.safe_load((conf.project_dir / "bot" / "knowledge.yml").read_text("utf-8"))
        for key, thing in (knowledge.get("things") or {}).items():
            labels[f"fact:{key}"] = f"{thing.get('label', key)} (précision)"
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    return labels


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def register(app: Sanic, conf: Settings) -> None:
    env = environment()
    password_hash = conf.console_password_hash
    if not password_hash or not auth.valid_hash(password_hash):
        if conf.console_password_hash and not conf.console_password:
            raise ValueError("MUTU_CONSOLE_PASSWORD_HASH is not a hash from `python -m bot console-hash`")
        password_hash = auth.hash_password(conf.console_password or "")
    guards: Dict[str, Any] = {}

    def store() -> ConsoleStore:
        return app_store(app, conf)

    def sessions() -> auth.Sessions:
        if "sessions" not in guards:
            guards["sessions"] = auth.Sessions(store().engine)
        return guards["sessions"]

    def failures() -> auth.FailureLimiter:
        if "failures" not in guards:
            guards["failures"] = auth.FailureLimiter(store().engine, store().key)
        return guards["failures"]

    async def blocking(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def current_session(request: Request) -> Optional[auth.Session]:
        return await blocking(lambda: sessions().get(request.cookies.get(SESSION_COOKIE)))

    def secure(request: Request) -> bool:
        return conf.console_secure_cookie or request.scheme == "https"

    def set_cookie(resp: response.HTTPResponse, request: Request, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/console"
        cookie["max-age"] = max_age
        if secure(request):
            cookie["secure"] = True

    def page(name: str, request: Request, session: Optional[auth.Session], status: int = 200,
             **values: Any) -> response.HTTPResponse:
        body = env.get_template(name).render(nav=NAV, csrf=session.csrf if session else "", signed_in=bool(session),
                                             **values)
        return response.html(body, status=status)

    def to_login() -> response.HTTPResponse:
        return response.redirect("/console/login", status=303)

    def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
        """A session, and for a POST its CSRF token, before anything else."""
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> response.HTTPResponse:
            session = await current_session(request)
            if session is None:
                return to_login()
            if conf.store_profile == "scale":  # another machine's console may have edited the data
                await blocking(lambda: store().project.pull())
            if request.method == "POST":
                token = (request.form.get("csrf") if request.form else None) or request.headers.get("x-csrf-token")
                if not token or not auth.hmac.compare_digest(str(token), session.csrf):
                    return response.text("Requête refusée : jeton de sécurité manquant ou invalide. "
                                         "Rechargez la page et recommencez.", status=403)
            return await handler(request, session, *args, **kwargs)
        wrapper.__name__ = handler.__name__
        return wrapper

    # ---- sign-in ---------------------------------------------------------------------------
    async def login_form(request: Request) -> response.HTTPResponse:
        if await current_session(request):
            return response.redirect("/console", status=303)
        token = auth.secrets.token_urlsafe(32)
        resp = page("login.html", request, None, login_csrf=token, message=None)
        set_cookie(resp, request, LOGIN_CSRF_COOKIE, token, 3600)
        return resp

    async def login(request: Request) -> response.HTTPResponse:
        token, cookie = (request.form.get("csrf") if request.form else None), request.cookies.get(LOGIN_CSRF_COOKIE)
        if not token or not cookie or not auth.hmac.compare_digest(str(token), cookie):
            return response.text("Requête refusée : jeton de sécurité manquant ou invalide. "
                                 "Rechargez la page de connexion et recommencez.", status=403)
        client = client_address(request, conf.trusted_proxies)
        wait = await blocking(lambda: failures().attempt(client))  # counted as a failure until it succeeds
        if wait:
            logger.warning("console sign-in refused: too many failures")
            minutes = max(1, int(wait // 60) + 1)
            resp = page("login.html", request, None, status=429, login_csrf=cookie,
                        message=f"Trop de tentatives de connexion. Pour votre sécurité, veuillez réessayer "
                                f"dans {minutes} minute{'s' if minutes > 1 else ''}.")
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        password = (request.form.get("password") or "") if request.form else ""
        ok = await blocking(auth.verify_password, password[:1000], password_hash)
        if not ok:
            logger.info("console sign-in failed")
            return page("login.html", request, None, status=401, login_csrf=cookie,
                        message="Mot de passe incorrect. Veuillez réessayer.")
        await blocking(lambda: failures().succeeded(client))
        session_token, _session = await blocking(lambda: sessions().create())
        logger.info("console sign-in")
        resp = response.redirect("/console", status=303)
        set_cookie(resp, request, SESSION_COOKIE, session_token, int(sessions().lifetime))
        set_cookie(resp, request, LOGIN_CSRF_COOKIE, "", 0)
        return resp

    @guarded
    async def logout(request: Request, _session: auth.Session) -> response.HTTPResponse:
        await blocking(lambda: sessions().drop(request.cookies.get(SESSION_COOKIE)))
        resp = response.redirect("/console/login", status=303)
        set_cookie(resp, request, SESSION_COOKIE, "", 0)
        return resp

    # ---- Tableau de bord ---------------------------------------------------------------------
    async def fresh_stats() -> Any:
        def work() -> Any:
            try:
                store().ingest()
            except Exception:  # noqa: BLE001 - the tracker database is down: show what we have
                logger.exception("reading the conversations failed")
            return store().stats()
        return await blocking(work)

    @guarded
    async def dashboard(request: Request, session: auth.Session) -> response.HTTPResponse:
        stats = await fresh_stats()
        labels = topic_labels(conf)
        return page("dashboard.html", request, session, active="tableau", stats=stats, labels=labels,
                    category_labels=CATEGORY_LABELS, missed_categories=MISSED,
                    conversations=sum(d[1] for d in stats.days), messages=sum(d[2] for d in stats.days),
                    stamp=int(time.time()))

    @guarded
    async def chart(request: Request, _session: auth.Session, name: str) -> response.HTTPResponse:
        from bot.console import charts
        name = name[:-4] if name.endswith(".png") else ""
        if name not in ("jours", "reponses", "sujets", "avis"):
            return response.text("Page introuvable", status=404)
        stats = await blocking(store().stats)
        png = await blocking(charts.render, name, stats, topic_labels(conf))
        return response.raw(png, content_type="image/png")

    # ---- Demandes ----------------------------------------------------------------------------
    def outbox() -> Any:
        from bot.inquiries.store import OutboxStore
        return OutboxStore(conf.inquiry_db)

    @guarded
    async def inquiries(request: Request, session: auth.Session) -> response.HTTPResponse:
        rows = await blocking(outbox().list)
        done = request.args.get("ok")
        return page("demandes.html", request, session, active="demandes", rows=rows, now=time.time(),
                    done=done if done and any(r.reference == done for r in rows) else None)

    @guarded
    async def retry(request: Request, _session: auth.Session, reference: str) -> response.HTTPResponse:
        found = await blocking(outbox().make_due, reference, time.time())
        if not found:
            return response.text("Demande introuvable", status=404)
        logger.info("console: inquiry %s made due now", reference)
        return response.redirect(f"/console/demandes?ok={reference}", status=303)

    @guarded
    async def export(request: Request, _session: auth.Session) -> response.HTTPResponse:
        rows = list(reversed(await blocking(outbox().list, None, 1_000_000)))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["référence", "reçue le", "nom", "courriel", "organisme", "question", "statut",
                         "tentatives", "dernière erreur", "envoyée le"])
        for r in rows:
            writer.writerow([csv_safe(v) for v in (
                r.reference, quand(r.created_at), r.name, r.email, r.organisation or "", r.question,
                "envoyée" if r.status == "delivered" else "en attente", r.attempts, r.last_error or "",
                quand(r.delivered_at))])
        return response.raw("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="demandes-mutu.csv"'})

    app.add_route(login_form, "/console/login", methods=["GET"], name="console_login_form")
    app.add_route(login, "/console/login", methods=["POST"], name="console_login")
    app.add_route(logout, "/console/logout", methods=["POST"], name="console_logout")
    app.add_route(dashboard, "/console", methods=["GET"], name="console_dashboard")
    app.add_route(chart, "/console/graphiques/<name:str>", methods=["GET"], name="console_chart")
    app.add_route(inquiries, "/console/demandes", methods=["GET"], name="console_inquiries")
    app.add_route(retry, "/console/demandes/<reference:str>/reessayer", methods=["POST"], name="console_retry")
    app.add_route(export, "/console/demandes.csv", methods=["GET"], name="console_export")
    app.ctx.console_register_more = (guarded, page, blocking, store)
    from bot.console import pages
    pages.register(app, conf)
