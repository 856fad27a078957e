"""The coordinator's console without the trained bot: its store (reading Rasa's tracker
store, redaction, classification, figures, retention), sign-in and its refusals, the
inquiries page, the widget's feedback endpoint and `python -m bot report`, against a real
`python -m bot web` on a temporary data folder."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
import requests
import sqlalchemy as sa
import yaml

from bot import settings
from bot.console import auth
from bot.console.store import ConsoleStore, classify, redact
from bot.inquiries.store import NewInquiry, OutboxStore
from bot.launcher import is_ready
from tests.conftest import OFFSET, ROOT, stop_group, wait_for

CONSOLE_PORT, OFF_PORT, LIMIT_PORT = 18201 + OFFSET, 18202 + OFFSET, 18203 + OFFSET
PASSWORD = "Mot de passe d'essai 2026"
ORIGIN = "https://www.exemple-organisme.org"

EVENTS = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("sender_id", sa.String(255), nullable=False),
                  sa.Column("type_name", sa.String(255), nullable=False), sa.Column("timestamp", sa.Float),
                  sa.Column("intent_name", sa.String(255)), sa.Column("action_name", sa.String(255)),
                  sa.Column("data", sa.Text))


class Tracker:
    """A Rasa-like SQL tracker store (same table) we write conversations into."""

    def __init__(self, path: Path) -> None:
        self.engine = sa.create_engine(f"sqlite:///{path}")
        EVENTS.metadata.create_all(self.engine)

    def turn(self, sender: str, text: str, intent: str, answer: str = "", ts: float = 0.0) -> None:
        ts = ts or time.time()
        rows = [dict(sender_id=sender, type_name="user", timestamp=ts, intent_name=intent,
                     data=json.dumps({"event": "user", "text": text, "timestamp": ts,
                                      "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}))]
        rows.append(dict(sender_id=sender, type_name="bot", timestamp=ts + 0.1,
                         data=json.dumps({"event": "bot", "text": "réponse"})))
        if answer:
            rows.append(dict(sender_id=sender, type_name="slot", timestamp=ts + 0.2,
                             data=json.dumps({"event": "slot", "name": "mutu_answer", "value": answer})))
        with self.engine.begin() as db:
            for row in rows:
                db.execute(sa.insert(EVENTS).values(**row))


def conf_for(data_dir: Path, **extra: str) -> settings.Settings:
    env = {"MUTU_DATA_DIR": str(data_dir), "MUTU_CONSOLE_SECRET": "secret-de-test", **extra}
    return settings.load(env)


# ---- the store -----------------------------------------------------------------------------------
def test_redaction_of_emails_and_phone_numbers_keeps_the_rest() -> None:
    text = ("Écrivez-moi à marie.tremblay@exemple.org ou au 514 555-1234 poste 22, sinon (418) 555-0000 "
            "ou +1 819.555.1212; la Halte a 125 membres depuis 2023")
    assert redact(text) == ("Écrivez-moi à [courriel] ou au [téléphone], sinon [téléphone] "
                            "ou [téléphone]; la Halte a 125 membres depuis 2023")


@pytest.mark.parametrize("key, expected", [
    ("topic:elements", ("answered", "elements")), ("topic:example_cdc:cdc_example", ("answered", "example_cdc")),
    ("fact:halte:lieu", ("answered", "fact:halte")), ("clarify", ("clarified", None)),
    ("rephrase", ("clarified", None)), ("other", ("clarified", None)),
    ("dont_know:halte:cout", ("not_said", None)), ("nothing_more:halte:lieu", ("not_said", None)),
    ("give_up", ("not_said", None)), ("out_of_scope", ("out_of_scope", None)), ("help", ("chat", None)),
    (None, ("chat", None))])
def test_classification_by_the_answer_slot(key: str, expected: Tuple[str, str]) -> None:
    assert classify(key) == expected


def test_ingest_is_incremental_redacts_and_classifies(tmp_path: Path) -> None:
    conf = conf_for(tmp_path)
    tracker = Tracker(conf.tracker_db)
    tracker.turn("web-a", "/greet", "greet")
    tracker.turn("web-a", "c quoi la mutualisation", "faq", "topic:def_mutualisation")
    tracker.turn("web-a", "mon courriel: jo@exemple.org, ça coûte combien?", "not_in_source", "dont_know")
    tracker.turn("web-b", "qui va gagner la coupe Stanley?", "out_of_scope", "out_of_scope")
    tracker.turn("web-b", "merci", "thank")
    store = ConsoleStore(conf)
    assert store.ingest() == 4  # the hidden /greet is not a visitor's message
    tracker.turn("web-b", "blablabla", "nlu_fallback", "clarify")
    tracker.turn("web-c", "/faq/def_mutualisation", "faq", "topic:def_mutualisation")
    assert store.ingest() == 2 and store.ingest() == 0
    stats = store.stats()
    assert stats.categories == {"answered": 2, "clarified": 1, "not_said": 1, "out_of_scope": 1, "chat": 1}
    assert stats.top_topics == [("def_mutualisation", 2)]
    assert stats.days[-1][1:] == (3, 6) and len(stats.days) == 30
    missed = [m[0] for m in stats.missed]
    assert "mon courriel: [courriel], ça coûte combien?" in missed and "jo@exemple.org" not in repr(missed)
    with store.engine.connect() as db:  # conversations are known by a pseudonym only
        assert "web-a" not in repr(db.execute(sa.text("select * from console_messages")).fetchall())


def test_feedback_gets_the_topic_of_the_question_and_is_counted(tmp_path: Path) -> None:
    conf = conf_for(tmp_path)
    tracker = Tracker(conf.tracker_db)
    tracker.turn("web-a", "c quoi la mutualisation", "faq", "topic:def_mutualisation")
    tracker.turn("web-a", "pis la Halte?", "faq", "topic:example_halte")
    store = ConsoleStore(conf)
    stored = store.add_feedback("web-a", -1, "c quoi la mutualisation", "")
    assert stored["topic"] == "def_mutualisation"
    store.add_feedback("web-a", 1, "pis la Halte?", "")
    assert store.add_comment("web-a", "un exemple au 514-555-1234")
    stats = store.stats()
    assert sorted(stats.feedback) == [("def_mutualisation", 0, 1), ("example_halte", 1, 0)]
    assert any(m[0] == "c quoi la mutualisation" for m in stats.missed)  # a 👎 counts as missed
    with store.engine.connect() as db:
        assert db.execute(sa.text("select comment from console_feedback where vote < 0")).scalar() == "un exemple au [téléphone]"


def test_retention_pass_deletes_the_console_rows_too(tmp_path: Path) -> None:
    from bot.retention import run_pass
    conf = conf_for(tmp_path)
    tracker = Tracker(conf.tracker_db)
    old = time.time() - 100 * 86400
    tracker.turn("web-a", "une vieille question", "faq", "topic:elements", ts=old)
    tracker.turn("web-a", "une récente", "faq", "topic:elements")
    store = ConsoleStore(conf)
    store.ingest()
    store.add_feedback("web-a", 1, "une récente", "", now=old)
    report = run_pass(conf)
    assert report.console == 2 and report.events == 3
    with store.engine.connect() as db:
        assert [r[0] for r in db.execute(sa.text("select text from console_messages"))] == ["une récente"]
        assert db.execute(sa.text("select count(*) from console_feedback")).scalar() == 0


def test_report_in_the_terminal(tmp_path: Path) -> None:
    from bot.console.report import report
    conf = conf_for(tmp_path)
    tracker = Tracker(conf.tracker_db)
    for n in range(3):
        tracker.turn(f"web-{n}", "c quoi la mutualisation", "faq", "topic:def_mutualisation")
        tracker.turn(f"web-{n}", "combien ça coûte la Halte?", "not_in_source", "dont_know:halte:cout")
    out = io.StringIO()
    assert report(conf, out) == 0
    text = out.getvalue()
    assert "3 conversations, 6 messages, 6 questions" in text
    assert "L'infographie ne le dit pas" in text and "50\u00a0%" in text
    assert re.search(r"3 ×  combien ça coûte la Halte\?", text)
    done = subprocess.run([sys.executable, "-m", "bot", "report"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "MUTU_DATA_DIR": str(tmp_path),
                               "MUTU_CONSOLE_SECRET": "secret-de-test"}, timeout=120)
    assert done.returncode == 0 and "Les 10 sujets les plus demandés" in done.stdout


def test_password_hashing_and_sign_in_limits() -> None:
    encoded = auth.hash_password("abc", iterations=1000)
    assert encoded.startswith("pbkdf2_sha256$1000$") and "abc" not in encoded
    assert auth.verify_password("abc", encoded) and not auth.verify_password("abd", encoded)
    assert not auth.verify_password("abc", "nimporte quoi")
    engine = sa.create_engine("sqlite://")
    limiter = auth.FailureLimiter(engine, b"key", limit=5, window=900)
    for _ in range(5):
        assert limiter.attempt("1.2.3.4", now=1000) == 0
    assert limiter.attempt("1.2.3.4", now=1001) == pytest.approx(899)
    assert limiter.attempt("5.6.7.8", now=1001) == 0
    assert limiter.attempt("1.2.3.4", now=1901) == 0
    done = subprocess.run([sys.executable, "-m", "bot", "console-hash"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "MUTU_CONSOLE_PASSWORD": "abc"}, timeout=60)
    assert done.returncode == 0 and auth.verify_password("abc", done.stdout.strip())


# ---- the web server ----------------------------------------------------------------------------
def start_web(env: Dict[str, str], port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUTU_HOST": "127.0.0.1", "MUTU_WEB_PORT": str(port), **env}
    handle = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "web"], cwd=ROOT, env=env, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: is_ready(f"http://127.0.0.1:{port}/healthz") or proc.poll() is not None, 90,
                 "web server start")
    except AssertionError:
        stop_group(proc)
        raise
    assert proc.poll() is None, log.read_text()
    return proc


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    data = tmp_path_factory.mktemp("console-data")
    tracker = Tracker(data / "rasa_tracker.db")
    tracker.turn("web-1", "c quoi la mutualisation", "faq", "topic:def_mutualisation")
    tracker.turn("web-1", "<script>alert('x')</script> ça coûte combien?", "not_in_source", "dont_know")
    outbox = OutboxStore(data / "inquiries.db")
    pending = outbox.add(NewInquiry(name="Marie <b>Tremblay</b>", email="marie@exemple.org", organisation="=HYPERLINK(1)",
                                    question="<img src=x onerror=alert(1)> Quels frais?", conversation="k1"))
    outbox.reschedule(pending.id, time.time() + 3600, "SMTP: connexion refusée")
    env = {"MUTU_DATA_DIR": str(data), "MUTU_CONSOLE_PASSWORD": PASSWORD, "MUTU_CORS_ORIGINS": ORIGIN}
    proc = start_web(env, CONSOLE_PORT, data / "web.log")
    yield {"url": f"http://127.0.0.1:{CONSOLE_PORT}", "data": data, "reference": pending.reference,
           "outbox": outbox, "tracker": tracker}
    stop_group(proc)


def login_token(session: requests.Session, url: str) -> str:
    page = session.get(url + "/console/login")
    assert page.status_code == 200
    assert re.search(r'<input[^>]+name="password"[^>]+type="password"', page.text)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def signed_in(url: str) -> Tuple[requests.Session, str]:
    session = requests.Session()
    token = login_token(session, url)
    done = session.post(url + "/console/login", data={"csrf": token, "password": PASSWORD}, allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"] == "/console"
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    page = session.get(url + "/console")
    assert page.status_code == 200
    return session, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_widget_pages_are_served_as_before(console: Dict[str, object]) -> None:
    url = console["url"]
    page = requests.get(f"{url}/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "retention" not in page.text and "{{" not in page.text  # widget.js has it from the server
    for path in ("/index.html", "/autre-page.html"):
        assert requests.get(url + path).status_code == 200
    script = requests.get(f"{url}/widget.js")
    assert script.headers["Access-Control-Allow-Origin"] == "*" and "javascript" in script.headers["Content-Type"]
    assert 'SERVER_RETENTION = "90"' in script.text
    assert requests.get(f"{url}/widget.css").headers["Content-Type"] == "text/css; charset=utf-8"
    assert requests.get(f"{url}/healthz").json() == {"status": "ok"}
    missing = requests.get(f"{url}/nulle-part")
    assert missing.status_code == 404 and missing.text == "Page introuvable"


def test_console_is_off_without_a_password(tmp_path: Path) -> None:
    proc = start_web({"MUTU_DATA_DIR": str(tmp_path)}, OFF_PORT, tmp_path / "web.log")
    try:
        for path in ("/console", "/console/login", "/console/demandes"):
            assert requests.get(f"http://127.0.0.1:{OFF_PORT}{path}", allow_redirects=False).status_code == 404
        assert requests.get(f"http://127.0.0.1:{OFF_PORT}/").status_code == 200
    finally:
        stop_group(proc)


def test_no_session_means_the_sign_in_page(console: Dict[str, object]) -> None:
    url = console["url"]
    for path in ("/console", "/console/demandes", "/console/demandes.csv", "/console/graphiques/jours.png"):
        resp = requests.get(url + path, allow_redirects=False)
        assert resp.status_code == 303 and resp.headers["Location"] == "/console/login", path
    resp = requests.post(url + "/console/demandes/X/reessayer", allow_redirects=False)
    assert resp.status_code == 303 and resp.headers["Location"] == "/console/login"
    forged = requests.get(url + "/console", cookies={"mutu_console": "forged"}, allow_redirects=False)
    assert forged.status_code == 303


def test_wrong_password_is_refused_then_rate_limited(tmp_path: Path) -> None:
    # its own server: the limit is per client address, and every test comes from 127.0.0.1
    proc = start_web({"MUTU_DATA_DIR": str(tmp_path), "MUTU_CONSOLE_PASSWORD_HASH": auth.hash_password(PASSWORD),
                      "MUTU_CONSOLE_SECURE_COOKIE": "true"}, LIMIT_PORT, tmp_path / "web.log")
    try:
        check_rate_limit(f"http://127.0.0.1:{LIMIT_PORT}", tmp_path / "web.log")
    finally:
        stop_group(proc)


def check_rate_limit(url: str, log_path: Path) -> None:
    cookie = requests.get(url + "/console/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie  # MUTU_CONSOLE_SECURE_COOKIE
    session = requests.Session()
    token = login_token(session, url)
    for jar_cookie in session.cookies:  # plain http in the test: send the Secure cookie anyway
        jar_cookie.secure = False
    assert session.post(url + "/console/login", data={"password": PASSWORD}).status_code == 403  # no CSRF token
    for _ in range(5):
        resp = session.post(url + "/console/login", data={"csrf": token, "password": "mauvais"}, allow_redirects=False)
        assert resp.status_code == 401 and "Mot de passe incorrect" in resp.text
    resp = session.post(url + "/console/login", data={"csrf": token, "password": PASSWORD}, allow_redirects=False)
    assert resp.status_code == 429 and "Trop de tentatives" in resp.text and "mutu_console=" not in resp.headers.get("Set-Cookie", "")
    assert int(resp.headers["Retry-After"]) > 800
    log = log_path.read_text()
    assert "mauvais" not in log and PASSWORD not in log


def test_post_without_csrf_token_is_forbidden(console: Dict[str, object]) -> None:
    session, csrf = signed_in(console["url"])
    reference = console["reference"]
    for data in ({}, {"csrf": "faux"}):
        resp = session.post(f"{console['url']}/console/demandes/{reference}/reessayer", data=data, allow_redirects=False)
        assert resp.status_code == 403
    assert console["outbox"].get(reference).next_attempt_at > time.time() + 3000  # unchanged
    assert session.post(console["url"] + "/console/logout", data={}).status_code == 403


def test_inquiries_page_escapes_retries_now_and_exports(console: Dict[str, object]) -> None:
    url, reference = console["url"], console["reference"]
    session, csrf = signed_in(url)
    page = session.get(url + "/console/demandes")
    assert page.status_code == 200 and reference in page.text
    assert "&lt;img src=x onerror=alert(1)&gt; Quels frais?" in page.text and "<img src=x" not in page.text
    assert "Marie &lt;b&gt;Tremblay&lt;/b&gt;" in page.text and "SMTP: connexion refusée" in page.text
    assert page.headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in page.headers["Content-Security-Policy"]
    done = session.post(f"{url}/console/demandes/{reference}/reessayer", data={"csrf": csrf}, allow_redirects=False)
    assert done.status_code == 303
    assert console["outbox"].get(reference).next_attempt_at <= time.time()
    assert "sera envoyée de nouveau" in session.get(url + done.headers["Location"]).text
    export = session.get(url + "/console/demandes.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in export.headers["Content-Disposition"]
    rows = export.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("référence,reçue le,nom,courriel") and reference in rows[1]
    assert "'=HYPERLINK(1)" in rows[1]  # no formula for the spreadsheet


def test_dashboard_shows_figures_charts_and_escaped_questions(console: Dict[str, object]) -> None:
    url = console["url"]
    session, _csrf = signed_in(url)
    page = session.get(url + "/console")
    assert "Tableau de bord" in page.text and "C&#39;est quoi la mutualisation : 1" in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; ça coûte combien?" in page.text
    assert "<script>" not in page.text
    for name in ("jours", "reponses", "sujets", "avis"):
        chart = session.get(f"{url}/console/graphiques/{name}.png")
        assert chart.status_code == 200 and chart.headers["Content-Type"] == "image/png"
        assert chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert session.get(f"{url}/console/graphiques/autre.png").status_code == 404


def test_feedback_endpoint_cors_bounds_and_counts(console: Dict[str, object]) -> None:
    url, tracker = console["url"], console["tracker"]
    tracker.turn("web-fb", "les formes de mutualisation", "faq", "topic:forms_list")
    pre = requests.options(url + "/feedback", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert requests.options(url + "/feedback", headers={"Origin": "https://ailleurs.example"}).status_code == 403
    body = {"sender": "web-fb", "vote": -1, "question": "les formes de mutualisation"}
    assert requests.post(url + "/feedback", json=body, headers={"Origin": "https://ailleurs.example"}).status_code == 403
    ok = requests.post(url + "/feedback", json=body, headers={"Origin": ORIGIN})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert requests.post(url + "/feedback", json={"sender": "web-fb", "comment": "un exemple"}).json() == {"ok": True}
    for bad in ({"sender": "web-fb", "vote": 5}, {"vote": 1}, {"sender": "x" * 200, "vote": 1}, [1]):
        assert requests.post(url + "/feedback", json=bad).status_code == 400
    assert requests.post(url + "/feedback", data=b"x" * 5000, headers={"Content-Type": "application/json"}).status_code == 413
    statuses = [requests.post(url + "/feedback", json={"sender": "web-flood", "vote": 1}).status_code for _ in range(25)]
    assert statuses.count(200) == 20 and statuses[-1] == 429
    session, _csrf = signed_in(url)
    page = session.get(url + "/console").text
    assert re.search(r"<td>Les formes de mutualisation</td><td>0</td><td>1</td>", page)


# ---- « À améliorer » and « Réponses » on a copy of the tiny project --------------------------------
EDIT_PORT = 18204 + OFFSET


@pytest.fixture(scope="module")
def editing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    base = tmp_path_factory.mktemp("console-edit")
    project, data = base / "project", base / "var"
    shutil.copytree(ROOT / "tests" / "console_project", project)
    data.mkdir()
    tracker = Tracker(data / "rasa_tracker.db")
    for n, text in enumerate(["combien ça coûte devenir membre de la Halte?", "combien coute l'adhésion à La Halte",
                              "ca coute combien pour adhérer a la halte"]):
        tracker.turn(f"web-{n}", text, "not_in_source", "dont_know:halte:cout")
    tracker.turn("web-9", "<b>qui</b> va gagner la coupe Stanley?", "out_of_scope", "out_of_scope")
    tracker.turn("web-9", "on peut mutualiser quoi", "faq", "topic:elements")
    proc = start_web({"MUTU_DATA_DIR": str(data), "MUTU_PROJECT_DIR": str(project), "MUTU_CONSOLE_PASSWORD": PASSWORD},
                     EDIT_PORT, base / "web.log")
    yield {"url": f"http://127.0.0.1:{EDIT_PORT}", "project": project}
    stop_group(proc)


def group_keys(page: str, text: str) -> str:
    section = next(s for s in page.split('<section class="card group"')[1:] if text in s)
    return re.search(r'name="keys" value="([^"]+)"', section).group(1)


def test_missed_questions_are_grouped_escaped_and_ignorable(editing: Dict[str, object]) -> None:
    url = editing["url"]
    session, csrf = signed_in(url)
    page = session.get(url + "/console/ameliorer").text
    assert "3 questions semblables" in page and "l&#39;infographie ne le dit pas" in page
    assert "&lt;b&gt;qui&lt;/b&gt; va gagner la coupe Stanley?" in page and "<b>qui</b>" not in page
    assert "on peut mutualiser quoi" not in page  # answered: nothing to improve
    keys = group_keys(page, "coupe Stanley")
    assert session.post(url + "/console/ameliorer/ignorer", data={"keys": keys}).status_code == 403
    done = session.post(url + "/console/ameliorer/ignorer", data={"csrf": csrf, "keys": keys})
    assert "1 question(s) ignorée(s)" in done.text and "coupe Stanley" not in done.text.split("</h1>", 1)[1]


def test_a_new_answer_from_a_group_is_checked_then_written(editing: Dict[str, object]) -> None:
    url, project = editing["url"], editing["project"]
    session, csrf = signed_in(url)
    keys = group_keys(session.get(url + "/console/ameliorer").text, "membre de la")
    form = session.get(url + "/console/ameliorer/nouvelle", params={"keys": keys})
    assert form.status_code == 200 and "combien ça coûte devenir membre de la Halte?" in form.text
    answer = "L'infographie ne donne pas le coût d'adhésion.\nSource : infographie « La mutualisation », section Quelques exemples de mutualisation"
    data = {"csrf": csrf, "keys": keys, "question": "Combien coûte l'adhésion ?", "text": answer, "under": "elements",
            "button_title_0": "Que peut-on mutualiser ?", "button_topic_0": "elements", "action": "save",
            "examples": "combien ça coûte devenir membre de la Halte?\nc'est quoi le prix pour être membre"}
    refused = session.post(url + "/console/ameliorer/nouvelle", data=data)
    assert refused.status_code == 422 and "Donnez au moins 15 façons différentes" in refused.text
    data["examples"] += "\n" + "\n".join(f"le coût numéro {word} pour adhérer" for word in
                                         "un deux trois quatre cinq six sept huit neuf dix onze douze treize".split())
    data["text"] = answer.replace("coût", "coût (Marie Tremblay)")
    refused = session.post(url + "/console/ameliorer/nouvelle", data=data)
    assert refused.status_code == 422 and "Ce nom propre n&#39;est pas dans l&#39;infographie : Marie" in refused.text
    data["text"] = answer
    saved = session.post(url + "/console/ameliorer/nouvelle", data=data)
    assert saved.status_code == 200 and "Nouvelle réponse « Combien coûte l&#39;adhésion ? » enregistrée" in saved.text
    from bot.tools.validate import content_problems
    responses = yaml.safe_load((project / "data" / "responses" / "faq.yml").read_text("utf-8"))["responses"]
    assert responses["utter_faq/combien_coute_adhesion"][0]["text"] == answer
    assert {"title": "Combien coûte l'adhésion ?", "payload": "/faq/combien_coute_adhesion"} in \
        responses["utter_faq/elements"][0]["buttons"]
    nlu = yaml.safe_load((project / "data" / "nlu" / "console.yml").read_text("utf-8"))["nlu"]
    assert nlu[0]["intent"] == "faq/combien_coute_adhesion" and nlu[0]["examples"].count("\n- ") + 1 >= 15
    assert not [p for p in content_problems(project) if "combien_coute" in p]  # validate: examples, answer, label
    assert "membre de la" not in session.get(url + "/console/ameliorer").text.split("</h1>", 1)[1]


def test_answers_are_searchable_and_edits_are_checked(editing: Dict[str, object]) -> None:
    url, project = editing["url"], editing["project"]
    session, csrf = signed_in(url)
    listing = session.get(url + "/console/reponses", params={"q": "COPROPRIETE"}).text
    assert "/console/reponses/forms_list" in listing and "/console/reponses/elements\"" not in listing
    assert session.get(url + "/console/reponses/nimporte").status_code == 404
    before = (project / "data" / "responses" / "faq.yml").read_text("utf-8")
    bad = {"csrf": csrf, "action": "save", "text": "Voyez <script>alert(1)</script> https://exemple.ca ici",
           "button_title_0": "Ailleurs", "button_topic_0": "nulle_part"}
    refused = session.post(url + "/console/reponses/forms_list", data=bad)
    assert refused.status_code == 422
    for reason in ("La dernière ligne doit être la ligne « Source", "Ce lien n&#39;est ni dans l&#39;infographie",
                   "doit mener à une réponse existante"):
        assert reason in refused.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.text and "<script>alert" not in refused.text
    assert (project / "data" / "responses" / "faq.yml").read_text("utf-8") == before
    assert session.post(url + "/console/reponses/forms_list", data={**bad, "csrf": ""}).status_code == 403
    good = "Un texte revu.\nSource : infographie « La mutualisation », section Les formes de mutualisation"
    preview = session.post(url + "/console/reponses/forms_list", data={"csrf": csrf, "action": "preview", "text": good})
    assert "Un texte revu." in preview.text and (project / "data" / "responses" / "faq.yml").read_text("utf-8") == before
    saved = session.post(url + "/console/reponses/forms_list", data={"csrf": csrf, "action": "save", "text": good,
                                                                     "button_title_0": "Les éléments", "button_topic_0": "elements"})
    assert "Réponse « forms_list » enregistrée" in saved.text
    after = (project / "data" / "responses" / "faq.yml").read_text("utf-8")
    assert after.startswith("# Three answers")  # comments kept
    entry = yaml.safe_load(after)["responses"]["utter_faq/forms_list"][0]
    assert entry == {"text": good, "buttons": [{"title": "Les éléments", "payload": "/faq/elements"}]}
    assert "réponse « forms_list » modifiée" in session.get(url + "/console/publier").text


def test_ingest_reads_what_rasas_own_tracker_store_writes(tmp_path: Path) -> None:
    import asyncio
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from tests.test_retention import rasa_tracker_store
    conf = conf_for(tmp_path)
    store = rasa_tracker_store(conf)  # the SQLite tracker store the launcher gives Rasa
    now = time.time()
    events = [UserUttered("/greet", {"name": "greet", "confidence": 1.0}, timestamp=now),
              UserUttered("pis la Halte c'est où?", {"name": "faq", "confidence": 0.8}, timestamp=now + 1),
              ActionExecuted("action_answer", timestamp=now + 1.1), BotUttered("Selon…", timestamp=now + 1.2),
              SlotSet("mutu_answer", "fact:halte:lieu", timestamp=now + 1.3)]
    asyncio.run(store.save(DialogueStateTracker.from_events("web-real", events)))
    store.engine.dispose()
    console = ConsoleStore(conf)
    assert console.ingest() == 1
    stats = console.stats()
    assert stats.categories["answered"] == 1 and stats.top_topics == [("fact:halte", 1)]
