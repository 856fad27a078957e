"""The coordinator's console served by two web processes on PostgreSQL, each with its own data
folder, and two Rasa servers with no model folder of their own (they pull the published model from
the web processes, MUTU_MODEL_PULL_SECONDS), on a copy of the tiny project (tests/console_project):
- signed in through one web process, the coordinator is signed in through the other, and still
  after both restart;
- the sign-in limit is one for both processes, and survives their restart;
- X-Forwarded-For names the client only when it comes from a trusted proxy (127.0.0.1 here; a
  client connecting from 127.0.0.2 cannot escape its limit by writing the header);
- an answer edited through one process is the data of the other (each has its own project folder);
- two publications started at once through both processes: one runs, the other is refused in
  French; the published model reaches both Rasa servers; undoing it through the other process
  brings the first model and the first data back on both."""
from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.conftest import API_TOKEN, OFFSET, ROOT, wait_for
from tests.scale.test_retention_pg import create_database

pytestmark = pytest.mark.scale
WEB_PORTS, RASA_PORTS = (18301 + OFFSET, 18302 + OFFSET), (18311 + OFFSET, 18312 + OFFSET)
PASSWORD = "deux-consoles-une-base"
QUESTION = "quelles sont les formes de mutualisation"
BLOCKED, OTHER, DIRECT = "198.51.100.7", "198.51.100.8", "127.0.0.2"


def launch(env: Dict[str, str], only: str, log: Path) -> subprocess.Popen:
    """`python -m bot run --only ...`, as tests/scale/test_scale_out.py starts its servers."""
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--only", only], cwd=ROOT, env=env,
                            stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def serving(rasa: str) -> str:
    """The model file a Rasa server answers with ("" before it has one)."""
    try:
        return requests.get(f"{rasa}/status", params={"token": API_TOKEN}, timeout=5).json().get("model_file") or ""
    except (requests.RequestException, ValueError):
        return ""


class Cluster:
    def __init__(self, base: Path, env: Dict[str, str]) -> None:
        self.base, self.env = base, env
        self.webs: List[str] = [f"http://127.0.0.1:{port}" for port in WEB_PORTS]
        self.rasas: List[str] = [f"http://127.0.0.1:{port}" for port in RASA_PORTS]
        self.procs: Dict[str, subprocess.Popen] = {}

    def web_env(self, n: int) -> Dict[str, str]:
        # each web process has its own data folder; the first one has the trained model (the seed)
        return dict(self.env, MUTU_WEB_PORT=str(WEB_PORTS[n]), MUTU_RASA_PORT=str(RASA_PORTS[n]),
                    MUTU_DATA_DIR=str(self.base / f"web{n}"), MUTU_PROJECT_DIR=str(self.project(n)),
                    MUTU_MODEL_DIR=str(self.base / ("models" if n == 0 else "models1")))

    def project(self, n: int) -> Path:
        return self.base / f"project{n}"

    def answer_file(self, n: int) -> str:
        return (self.project(n) / "data" / "responses" / "faq.yml").read_text("utf-8")

    def start_webs(self) -> None:
        for n in range(2):
            self.procs[f"web{n}"] = launch(self.web_env(n), "web", self.base / f"web{n}.log")
        self.wait(lambda: all(answers(f"{web}/healthz") for web in self.webs), "web processes")

    def start_rasas(self) -> None:
        for n, port in enumerate(RASA_PORTS):  # no model of their own: an empty model folder
            env = dict(self.env, MUTU_RASA_PORT=str(port), MUTU_DATA_DIR=str(self.base / f"rasa{n}"),
                       MUTU_MODEL_DIR=str(self.base / f"empty{n}"), MUTU_WEB_PORT=str(WEB_PORTS[n]))
            self.procs[f"rasa{n}"] = launch(env, "rasa", self.base / f"rasa{n}.log")
        self.wait(lambda: all(serving(rasa) == "mutu.tar.gz" for rasa in self.rasas), "Rasa servers with a model", 400)

    def stop_webs(self) -> None:
        for n in range(2):
            stop(self.procs.pop(f"web{n}"))

    def wait(self, predicate: object, what: str, timeout: float = 180) -> None:
        try:
            wait_for(lambda: predicate() or any(p.poll() is not None for p in self.procs.values()), timeout, what)
        except AssertionError:
            pytest.fail(f"{what}: not ready\n" + self.logs())
        if any(p.poll() is not None for p in self.procs.values()):
            pytest.fail(f"a process stopped while waiting for {what}\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(self.base.glob("*.log")))


@pytest.fixture(scope="module")
def cluster(postgres: Dict[str, str], redis: Dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    create_database(postgres, "mutu_console")
    base = tmp_path_factory.mktemp("console-scale")
    project = base / "project0"
    for n in range(2):  # a copy of the project on each web process's machine
        shutil.copytree(ROOT / "tests" / "console_project", base / f"project{n}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "MUTU_HOST": "127.0.0.1", "MUTU_STORE_PROFILE": "scale", **postgres, **redis, "MUTU_PG_DB": "mutu_console",
           "MUTU_API_TOKEN": API_TOKEN, "MUTU_CONSOLE_PASSWORD": PASSWORD,
           "MUTU_TRUSTED_PROXIES": "127.0.0.1", "MUTU_MODEL_PULL_SECONDS": "2", "MUTU_RATE_LIMIT_PER_MINUTE": "0",
           # the Rasa servers pull from the first web process (in production: the web processes' load balancer)
           "MUTU_MODEL_URL": f"http://127.0.0.1:{WEB_PORTS[0]}/modele/mutu.tar.gz"}
    env.pop("MUTU_CONSOLE_SECRET", None)
    trained = subprocess.run([sys.executable, "-m", "rasa", "train", "--out", str(base / "models"),
                              "--fixed-model-name", "mutu"], cwd=project, env=env, capture_output=True, text=True,
                             timeout=900)
    assert trained.returncode == 0, trained.stdout[-2000:]
    found = Cluster(base, env)
    try:
        found.start_webs()
        found.start_rasas()
        yield found
    finally:
        for proc in found.procs.values():
            stop(proc)


class FromAddress(HTTPAdapter):
    """Connections from another loopback address (a client that is not the trusted proxy)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser(address: Optional[str] = None) -> requests.Session:
    session = requests.Session()
    if address:
        session.mount("http://", FromAddress(address))
    return session


def sign_in(session: requests.Session, web: str, password: str = PASSWORD, forwarded: str = "") -> requests.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = session.get(f"{web}/console/login", headers=headers)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return session.post(f"{web}/console/login", data={"csrf": token, "password": password}, headers=headers,
                        allow_redirects=False)


def csrf(session: requests.Session, web: str) -> str:
    page = session.get(f"{web}/console/publier", allow_redirects=False)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_signed_in_through_one_process_signed_in_through_the_other_and_after_a_restart(cluster: Cluster) -> None:
    a, b = cluster.webs
    session = browser()
    assert sign_in(session, a).status_code == 303
    assert "Tableau de bord" in session.get(f"{b}/console", allow_redirects=False).text
    token = csrf(session, a)  # a form of one process, posted to the other
    form = {"csrf": token, "action": "preview", "text": "Un aperçu.\nSource : infographie « La mutualisation »"}
    assert "Un aperçu." in session.post(f"{b}/console/reponses/forms_list", data=form).text
    cluster.stop_webs()
    cluster.start_webs()
    for web in (a, b):
        page = session.get(f"{web}/console", allow_redirects=False)
        assert page.status_code == 200 and "Tableau de bord" in page.text
    stranger = browser()
    stranger.cookies.set("mutu_console", "pas-une-session", path="/console")
    assert stranger.get(f"{b}/console", allow_redirects=False).status_code == 303


def test_the_sign_in_limit_is_shared_honours_trusted_proxies_only_and_survives_a_restart(cluster: Cluster) -> None:
    a, b = cluster.webs
    proxy = browser()  # 127.0.0.1: the trusted proxy, naming its clients in X-Forwarded-For
    for web in (a, b, a, b, a):
        assert sign_in(proxy, web, "mauvais", forwarded=BLOCKED).status_code == 401
    for web in (b, a):
        refused = sign_in(proxy, web, forwarded=BLOCKED)
        assert refused.status_code == 429 and "Trop de tentatives de connexion" in refused.text
        assert int(refused.headers["Retry-After"]) > 800
    assert sign_in(browser(), b, forwarded=f"{BLOCKED}, {OTHER}").status_code == 303  # the proxy's client: OTHER

    direct = browser(DIRECT)  # not a trusted proxy: its X-Forwarded-For is not believed
    assert sign_in(direct, a, forwarded=BLOCKED).status_code == 303  # it is 127.0.0.2, not the blocked client
    for n, web in enumerate((a, b, a, b, a)):
        assert sign_in(browser(DIRECT), web, "mauvais", forwarded=f"203.0.113.{n}").status_code == 401
    assert sign_in(browser(DIRECT), b, forwarded="203.0.113.99").status_code == 429  # a new header does not help
    assert sign_in(proxy, b, forwarded=DIRECT).status_code == 429  # the same client, named by the proxy

    cluster.stop_webs()
    cluster.start_webs()
    assert sign_in(proxy, a, forwarded=BLOCKED).status_code == 429  # the limit outlives the processes
    assert sign_in(browser(), b, forwarded="198.51.100.20").status_code == 303


def test_one_publication_at_a_time_across_processes_and_every_rasa_server_gets_it(cluster: Cluster) -> None:
    a, b = cluster.webs
    session = browser()
    assert sign_in(session, b, forwarded="198.51.100.30").status_code == 303
    token = csrf(session, b)
    form = session.get(f"{b}/console/reponses/forms_list").text
    text = re.search(r'<textarea id="text" name="text"[^>]*>([^<]*)</textarea>', form).group(1)
    edited = html.unescape(text).replace("peut être informelle", "peut rester informelle")
    saved = session.post(f"{b}/console/reponses/forms_list", data={
        "csrf": token, "action": "save", "text": edited, "button_title_0": "Que peut-on mutualiser ?",
        "button_topic_0": "elements"})
    assert "enregistrée" in saved.text and "peut rester informelle" in cluster.answer_file(1)
    assert "peut être informelle" in cluster.answer_file(0)  # until the other process shows a page:
    assert "peut rester informelle" in session.get(f"{a}/console/reponses/forms_list").text
    assert "peut rester informelle" in cluster.answer_file(0)

    outcomes: Dict[str, requests.Response] = {}
    ready = threading.Barrier(2)

    def publish(web: str) -> None:
        ready.wait()
        outcomes[web] = session.post(f"{web}/console/publier", data={"csrf": token}, allow_redirects=False)

    threads = [threading.Thread(target=publish, args=(web,)) for web in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    locations = sorted(outcomes[web].headers["Location"] for web in (a, b))
    assert locations[0] == "/console/publier" and "erreur=" in locations[1], locations
    refused_by = next(web for web in (a, b) if "erreur=" in outcomes[web].headers["Location"])
    page = session.get(refused_by + outcomes[refused_by].headers["Location"]).text
    assert "Une publication est déjà en cours" in page and "Veuillez attendre qu&#39;elle se termine" in page
    number = int(re.search(r"/console/publier/(\d+)/etat", session.get(f"{a}/console/publier").text).group(1))

    state = wait_publication(session, refused_by, number)  # followed through the process that refused
    assert state["status"] == "ok", state
    names = {serving(rasa) for rasa in cluster.rasas}
    assert len(names) == 1 and names.pop().startswith("mutu-2"), names
    for rasa in cluster.rasas:
        assert "peut rester informelle" in say(rasa, QUESTION)
    assert not list((cluster.base / "models").glob("mutu-2*.tar.gz"))
    assert not list((cluster.base / "models1").glob("mutu-2*.tar.gz"))  # kept in the database only

    history = session.get(f"{a}/console/publier").text
    undo = session.post(f"{a}/console/publier/{number}/annuler", data={"csrf": token})
    assert 'class="alert"' not in undo.text and "Publiée" in history
    again = int(re.search(r"/console/publier/(\d+)/etat", undo.text).group(1))
    assert wait_publication(session, b, again)["status"] == "ok"
    wait_for(lambda: all(serving(rasa) == "mutu.tar.gz" for rasa in cluster.rasas), 60, "the first model again")
    for rasa in cluster.rasas:
        assert "peut être informelle" in say(rasa, QUESTION)
    assert "peut être informelle" in session.get(f"{b}/console/reponses/forms_list").text
    assert all("peut être informelle" in cluster.answer_file(n) for n in range(2))


def wait_publication(session: requests.Session, web: str, number: int) -> Dict[str, object]:
    state: Dict[str, object] = {}

    def done() -> bool:
        state.update(session.get(f"{web}/console/publier/{number}/etat").json())
        return state["status"] != "running"
    wait_for(done, 600, f"publication {number}")
    return state


def say(rasa: str, text: str) -> str:
    replies = requests.post(f"{rasa}/webhooks/rest/webhook", json={"sender": f"visiteur-{os.getpid()}",
                                                                  "message": text}, timeout=60).json()
    return " ".join(r.get("text") or "" for r in replies)
