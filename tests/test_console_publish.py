"""The console end to end, on a copy of a tiny project (tests/console_project: three answers, a
config that trains in seconds) so that the repository and models/mutu.tar.gz are never touched:
`python -m bot run --only rasa,web` (no MUTU_API_TOKEN: the launcher makes one for its children),
then in a real Chromium: sign in, see a chart, attach a missed question to an answer, edit an
answer with its preview and checks, publish; the running Rasa server then answers the new
phrasing over REST. A publication whose model fails the question set leaves the old model
serving; undoing a publication restores the data files and the previous model."""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest
import requests

from bot.launcher import is_ready
from tests.conftest import OFFSET, ROOT, stop_group, wait_for

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "publier-en-paix"
RASA_PORT, WEB_PORT, ACTIONS_PORT = 18205 + OFFSET, 18206 + OFFSET, 18207 + OFFSET
QUESTION = "quels biens peuvent circuler entre nous"  # the tiny model first takes it for the forms
PUBLISH_TIMEOUT = 600


def say(site: Dict[str, object], text: str, sender: str) -> str:
    replies = requests.post(f"{site['rasa']}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                            timeout=60).json()
    return " ".join(r.get("text") or "" for r in replies)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, object]]:
    base = tmp_path_factory.mktemp("console-publish")
    project, data, models = base / "project", base / "var", base / "models"
    shutil.copytree(ROOT / "tests" / "console_project", project)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "MUTU_HOST": "127.0.0.1", "MUTU_RASA_PORT": str(RASA_PORT), "MUTU_WEB_PORT": str(WEB_PORT),
           "MUTU_ACTIONS_PORT": str(ACTIONS_PORT), "MUTU_DATA_DIR": str(data), "MUTU_MODEL_DIR": str(models),
           "MUTU_PROJECT_DIR": str(project), "MUTU_CONSOLE_PASSWORD": PASSWORD,
           "MUTU_PUBLIC_RASA_URL": f"http://127.0.0.1:{RASA_PORT}"}
    env.pop("MUTU_API_TOKEN", None)
    trained = subprocess.run([sys.executable, "-m", "rasa", "train", "--out", str(models), "--fixed-model-name",
                              "mutu"], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert trained.returncode == 0, trained.stdout[-2000:]
    log = open(base / "bot.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--only", "rasa,web"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    rasa, web = f"http://127.0.0.1:{RASA_PORT}", f"http://127.0.0.1:{WEB_PORT}"
    try:
        wait_for(lambda: proc.poll() is not None or (is_ready(f"{rasa}/webhooks/rest/") and is_ready(f"{web}/healthz")),
                 300, "tiny bot start")
        assert proc.poll() is None, (base / "bot.log").read_text()[-3000:]
        yield {"rasa": rasa, "web": web, "project": project, "data": data, "models": models, "env": env}
    finally:
        stop_group(proc)
        log.close()


def signed_in_session(site: Dict[str, object]) -> tuple:
    session = requests.Session()
    page = session.get(f"{site['web']}/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    home = session.post(f"{site['web']}/console/login", data={"csrf": token, "password": PASSWORD})
    return session, re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)


def wait_publication(session: requests.Session, site: Dict[str, object], number: int) -> Dict[str, object]:
    state: Dict[str, object] = {}

    def done() -> bool:
        state.update(session.get(f"{site['web']}/console/publier/{number}/etat").json())
        return state["status"] != "running"
    wait_for(done, PUBLISH_TIMEOUT, f"publication {number}")
    return state


def test_sign_in_attach_edit_publish_in_a_browser(site: Dict[str, object]) -> None:
    assert "La mutualisation peut être informelle" in say(site, QUESTION, "visitor-1")  # not the right answer
    vote = requests.post(f"{site['web']}/feedback", json={"sender": "visitor-1", "vote": -1, "question": QUESTION})
    assert vote.json() == {"ok": True}
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA").new_page()
        pg.set_default_timeout(60_000)
        try:
            pg.goto(f"{site['web']}/console/ameliorer")
            assert pg.url.endswith("/console/login")  # no session: the sign-in page
            pg.fill("input[name=password]", PASSWORD)
            pg.get_by_role("button", name="Se connecter").click()
            pg.wait_for_selector("h1:has-text('Tableau de bord')")
            chart = pg.locator("img[src*='graphiques/avis.png']")
            wait_for(lambda: chart.evaluate("i => i.complete && i.naturalWidth > 100"), 30, "a chart drawn")

            pg.get_by_role("link", name="À améliorer").click()
            group = pg.locator("section.group", has_text=QUESTION)
            assert "réponse jugée pas utile" in group.inner_text()
            group.get_by_label("C'est la question…").select_option("elements")
            group.get_by_role("button", name="Rattacher").click()
            pg.wait_for_selector(".notice:has-text('1 formulation ajoutée')")
            assert QUESTION in (site["project"] / "data" / "nlu" / "faq.yml").read_text("utf-8")

            pg.get_by_role("link", name="Réponses").click()
            pg.get_by_label("Chercher une réponse").fill("copropriété")
            pg.get_by_role("button", name="Chercher").click()
            pg.get_by_role("link", name=re.compile("Modifier")).first.click()
            text = pg.get_by_label("Texte de la réponse")
            original = text.input_value()
            text.fill(original.replace("peut être informelle", "peut rester informelle") + " Marie Tremblay")
            pg.get_by_role("button", name="Enregistrer").click()
            pg.wait_for_selector(".alert:has-text('Ce nom propre n')")  # checked before saving
            text = pg.get_by_label("Texte de la réponse")
            text.fill(original.replace("peut être informelle", "peut rester informelle"))
            pg.get_by_role("button", name="Aperçu").click()
            assert "peut rester informelle" in pg.locator(".preview-msg").inner_text()
            assert "Source : infographie" in pg.locator(".preview-source").inner_text()
            pg.get_by_role("button", name="Enregistrer").click()
            pg.wait_for_selector(".notice:has-text('enregistrée')")

            pg.get_by_role("link", name="Publier").click()
            assert "1 formulation(s) ajoutée(s)" in pg.content()
            started = time.monotonic()
            pg.get_by_role("button", name="Publier").click()
            pg.wait_for_selector("progress")
            pg.wait_for_selector("td:has-text('Publiée')", timeout=PUBLISH_TIMEOUT * 1000)
            print(f"publication took {time.monotonic() - started:.0f} s")
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "console-published.png"), full_page=True)
        finally:
            browser.close()
    assert "On peut mutualiser" in say(site, QUESTION, "visitor-2")  # the running bot learned it
    published = list(site["models"].glob("mutu-2*.tar.gz"))
    assert len(published) == 1  # and a restart would serve it too:
    assert (site["models"] / "mutu.tar.gz").read_bytes() == published[0].read_bytes()
    assert "peut rester informelle" in say(site, "quelles sont les formes de mutualisation", "visitor-3")


def test_a_model_failing_the_question_set_is_not_served(site: Dict[str, object]) -> None:
    questions = site["project"] / "tests" / "questions.yml"
    kept = questions.read_text("utf-8")
    questions.write_text(kept.replace("cases:", "  never: [[\"une phrase que rien ne contient\"]]\ncases:\n"
                                      "  - [never, \"bonjour\"]\n  - [never, \"allo\"]"), "utf-8")
    session, csrf = signed_in_session(site)
    try:
        form = session.get(f"{site['web']}/console/reponses/forms_list").text
        text = re.search(r'<textarea id="text" name="text"[^>]*>([^<]*)</textarea>', form).group(1)
        edited = html.unescape(text).replace("peut rester informelle", "peut devenir informelle")
        saved = session.post(f"{site['web']}/console/reponses/forms_list",
                             data={"csrf": csrf, "action": "save", "text": edited, "button_title_0": "Que peut-on mutualiser ?",
                                   "button_topic_0": "elements"})
        assert saved.status_code == 200 and "enregistrée" in saved.text
        page = session.post(f"{site['web']}/console/publier", data={"csrf": csrf})
        number = int(re.search(r"/console/publier/(\d+)/etat", page.text).group(1))
        state = wait_publication(session, site, number)
    finally:
        questions.write_text(kept, "utf-8")
    assert state["status"] == "failed"
    assert "Mutu garde le modèle actuel" in state["message"] and "questions d'essai" in state["message"]
    assert "peut rester informelle" in say(site, "quelles sont les formes de mutualisation", "visitor-4")
    assert len(list(site["models"].glob("mutu-2*.tar.gz"))) == 1  # the failed model was not kept
    history = session.get(f"{site['web']}/console/publier").text
    assert "Échec" in history and "Publiée" in history


def test_undoing_a_publication_restores_the_data_and_the_previous_model(site: Dict[str, object]) -> None:
    session, csrf = signed_in_session(site)
    history = session.get(f"{site['web']}/console/publier").text
    number = int(re.search(r'action="/console/publier/(\d+)/annuler"', history).group(1))
    undo = session.post(f"{site['web']}/console/publier/{number}/annuler", data={"csrf": csrf})
    assert 'class="alert"' not in undo.text, undo.text
    again = int(re.search(r"/console/publier/(\d+)/etat", undo.text).group(1))
    assert wait_publication(session, site, again)["status"] == "ok"
    assert QUESTION not in (site["project"] / "data" / "nlu" / "faq.yml").read_text("utf-8")
    assert "peut être informelle" in (site["project"] / "data" / "responses" / "faq.yml").read_text("utf-8")
    assert "La mutualisation peut être informelle" in say(site, QUESTION, "visitor-5")  # the first model again
    assert "Annulée" in session.get(f"{site['web']}/console/publier").text
    before = list(site["models"].glob("mutu-avant-*.tar.gz"))
    assert len(before) == 1 and (site["models"] / "mutu.tar.gz").read_bytes() == before[0].read_bytes()
