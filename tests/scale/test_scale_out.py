"""Two Rasa servers and one action server sharing PostgreSQL (tracker store) and Redis (lock
store): context survives alternating servers, concurrent load loses no event, and when one server
is killed the other keeps serving its conversations."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import sqlalchemy as sa

from bot.launcher import is_ready
from tests.conftest import API_TOKEN, OFFSET, ROOT, wait_for
from tests.helpers import flat, post

pytestmark = pytest.mark.scale
RASA_PORTS, ACTIONS_PORT = (15205 + OFFSET, 15206 + OFFSET), 15255 + OFFSET


def _start(env: Dict[str, str], only: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--only", only], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def cluster(postgres: Dict[str, str], redis: Dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("scale-data")
    base = dict(os.environ, PYTHONPATH=str(ROOT), MUTU_HOST="127.0.0.1", MUTU_DATA_DIR=str(data),
                MUTU_STORE_PROFILE="scale", MUTU_ACTIONS_PORT=str(ACTIONS_PORT), MUTU_API_TOKEN=API_TOKEN,
                MUTU_RATE_LIMIT_PER_MINUTE="0", MUTU_WEB_PORT=str(18100 + OFFSET), **postgres, **redis)
    procs = {"actions": _start(base, "actions", data / "actions.log")}
    for n, port in enumerate(RASA_PORTS):
        procs[f"rasa{n}"] = _start(dict(base, MUTU_RASA_PORT=str(port)), "rasa", data / f"rasa{n}.log")
    urls = [f"http://127.0.0.1:{p}/webhooks/rest/" for p in RASA_PORTS] + [f"http://127.0.0.1:{ACTIONS_PORT}/health"]
    try:
        wait_for(lambda: all(is_ready(u) for u in urls) or any(p.poll() is not None for p in procs.values()), 300)
        if not all(is_ready(u) for u in urls):
            logs = "\n".join(f.read_text()[-1500:] for f in data.glob("*.log"))
            pytest.fail("cluster did not start:\n" + logs)
        yield {"procs": procs, "urls": [f"http://127.0.0.1:{p}" for p in RASA_PORTS], "postgres": postgres}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def say(server: str, sender: str, text: str) -> List[dict]:
    status, body = post(server + "/webhooks/rest/webhook", json.dumps({"sender": sender, "message": text}).encode())
    assert status == 200, (status, body)
    return body


def pg_engine(pg: Dict[str, str]) -> sa.engine.Engine:
    return sa.create_engine(sa.engine.URL.create("postgresql", pg["MUTU_PG_USER"], pg["MUTU_PG_PASSWORD"],
                                                 pg["MUTU_PG_HOST"], int(pg["MUTU_PG_PORT"]), pg["MUTU_PG_DB"]))


def pg_count(cluster: dict, sql: str, sender: str) -> int:
    engine = pg_engine(cluster["postgres"])
    try:
        with engine.connect() as db:
            return int(db.execute(sa.text(sql), {"s": sender}).scalar())
    finally:
        engine.dispose()


def user_events(cluster: dict, sender: str) -> int:
    """The user messages stored for a conversation (the servers' trackers hold a recent window)."""
    return pg_count(cluster, "SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'", sender)


def test_a_form_half_filled_on_one_server_is_finished_on_the_other(cluster: dict) -> None:
    a, b = cluster["urls"]
    sender = f"scale-{uuid.uuid4().hex[:8]}"
    assert "acceptez-vous" in flat(say(a, sender, "je veux parler à quelqu'un"))
    assert "prenom et votre nom" in flat(say(b, sender, "oui"))
    assert "courriel" in flat(say(a, sender, "Gabrielle Roy"))
    assert "organisme" in flat(say(b, sender, "gabrielle@exemple.org"))
    assert "question" in flat(say(a, sender, "passer"))
    assert "gabrielle roy" in flat(say(b, sender, "Comment mutualiser un local?"))
    assert "mutu-" in flat(say(a, sender, "/confirm_inquiry"))


def test_concurrent_load_over_both_servers_loses_no_event(cluster: dict) -> None:
    servers = cluster["urls"]
    senders = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    messages = ["bonjour", "c'est quoi la mutualisation", "et le contrat?", "des exemples svp", "merci"] * 3
    errors: List[str] = []

    def client(n: int, sender: str) -> None:
        for i, text in enumerate(messages):
            try:
                say(servers[(n + i) % 2], sender, text)
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(f"{sender}: {exc}")

    threads = [threading.Thread(target=client, args=(n, s)) for n, s in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == []
    for sender in senders:
        assert user_events(cluster, sender) == len(messages)
        # both servers see the same conversation: the end of it, answered with its context
        assert "non proprietaires" in flat(say(servers[0], sender, "et le contrat?"))
        assert "structure formelle" in flat(say(servers[1], sender, "pis la coentreprise?"))


def test_a_long_conversation_over_both_servers_costs_the_same_at_its_end(cluster: dict) -> None:
    """The windowed tracker store on PostgreSQL, the conversation alternating between the servers."""
    from tests import long_conversation
    from tests.test_long_conversation import MESSAGES, assert_bounded

    sender = f"long-pg-{uuid.uuid4().hex[:8]}"
    run = long_conversation.play(cluster["urls"], MESSAGES, sender=sender)
    assert_bounded(run, MESSAGES)
    assert user_events(cluster, sender) == MESSAGES
    assert 0 < pg_count(cluster, "SELECT count(*) FROM mutu_checkpoints WHERE sender_id = :s", sender) < 40
    indexes = "SELECT count(*) FROM pg_indexes WHERE tablename = 'events' AND indexname LIKE :s"
    assert pg_count(cluster, indexes, "mutu_events_sender_%") == 2


def test_one_server_killed_during_load_the_other_keeps_serving(cluster: dict) -> None:
    a, b = cluster["urls"]
    senders = [f"failover-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for sender in senders:  # each conversation is inside the form when the server dies
        say(a, sender, "je veux parler à quelqu'un")
        say(a, sender, "oui")
    sent = {s: 2 for s in senders}
    stop = threading.Event()
    failures: List[str] = []

    def client(sender: str) -> None:
        while not stop.is_set():
            errors = []
            for server in (a, b):  # try A, fall back to B (what a load balancer does)
                try:
                    say(server, sender, "c'est quoi une cuma")
                    sent[sender] += 1
                    break
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{server}: {exc!r}"[:300])
            else:
                failures.append(f"{sender}: {errors}")

    threads = [threading.Thread(target=client, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    time.sleep(3)
    os.killpg(cluster["procs"]["rasa0"].pid, signal.SIGKILL)
    time.sleep(5)
    stop.set()
    for t in threads:
        t.join(120)
    assert failures == []
    assert not is_ready(a + "/webhooks/rest/")
    for sender in senders:
        # Nothing is lost. The one message in flight when A died may have been stored by A before
        # its reply was lost; the client then sent it again to B (at least once, as with any
        # load balancer retry), so there can be one more, never more than that.
        assert sent[sender] <= user_events(cluster, sender) <= sent[sender] + 1
        assert "courriel" in flat(say(b, sender, "Gabrielle Roy"))  # the form goes on, on B
