"""What the console shares through its database so that several web processes serve it (on
SQLite files here; tests/scale/test_console_scale.py does it with two web processes on
PostgreSQL): sessions that outlive a process and keep only hashed tokens, a sign-in limit
counted once for every process, the key of the pseudonyms made once, and the client's address
taken from X-Forwarded-For only behind a trusted proxy."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import List

import pytest
import requests
import sqlalchemy as sa

from bot import settings
from bot.console import auth, shared
from bot.console.store import ConsoleStore, create_tables, secret
from bot.db import data_engine
from bot.web.clients import pick_client
from tests.conftest import OFFSET, stop_group
from tests.test_console import start_web


def engine_at(path: Path) -> sa.engine.Engine:
    """A new engine on the same SQLite file: what another web process would open."""
    return data_engine(settings.load({"MUTU_DATA_DIR": str(path.parent)}), path)


def test_sessions_keep_only_hashed_tokens_and_outlive_their_process(tmp_path: Path) -> None:
    first = auth.Sessions(engine_at(tmp_path / "console.db"), lifetime=100)
    token, session = first.create(now=1000)
    with first.engine.connect() as db:
        stored = repr(db.execute(sa.text("select * from console_sessions")).fetchall())
    assert token not in stored and session.csrf not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    other = auth.Sessions(engine_at(tmp_path / "console.db"), lifetime=100)  # another process, or a restart
    found = other.get(token, now=1050)
    assert found is not None and found.csrf == session.csrf and found.expires == 1100
    assert other.get(token + "x", now=1050) is None and other.get("", now=1050) is None
    assert other.get(token, now=1101) is None  # expired, and deleted
    with other.engine.connect() as db:
        assert db.execute(sa.text("select count(*) from console_sessions")).scalar() == 0


def test_expired_sessions_are_purged_by_a_sign_in_and_signing_out_drops_one(tmp_path: Path) -> None:
    sessions = auth.Sessions(engine_at(tmp_path / "console.db"), lifetime=100)
    old, _ = sessions.create(now=1000)
    kept, _ = sessions.create(now=1150)
    new, _ = sessions.create(now=1200)  # purges the one expired at 1100
    with sessions.engine.connect() as db:
        assert db.execute(sa.text("select count(*) from console_sessions")).scalar() == 2
    sessions.drop(kept)
    assert sessions.get(kept, now=1201) is None and sessions.get(new, now=1201) is not None
    assert sessions.get(old, now=1201) is None


def test_the_sign_in_limit_is_shared_by_every_process(tmp_path: Path) -> None:
    one = auth.FailureLimiter(engine_at(tmp_path / "console.db"), b"key", limit=5, window=900)
    two = auth.FailureLimiter(engine_at(tmp_path / "console.db"), b"key", limit=5, window=900)
    for limiter in (one, two, one, two, one):
        assert limiter.attempt("198.51.100.7", now=1000) == 0
    assert two.attempt("198.51.100.7", now=1010) == pytest.approx(890)
    assert one.attempt("198.51.100.7", now=1010) == pytest.approx(890)  # refusals do not prolong it
    assert one.attempt("198.51.100.8", now=1010) == 0
    two.succeeded("198.51.100.8")
    with one.engine.connect() as db:
        clients = repr(db.execute(sa.text("select client from console_limit_events")).fetchall())
    assert "198.51.100" not in clients  # addresses are kept as keyed hashes only
    assert two.attempt("198.51.100.7", now=1901) == 0


def test_racing_processes_never_get_more_tries_than_the_limit(tmp_path: Path) -> None:
    limiters = [auth.FailureLimiter(engine_at(tmp_path / "console.db"), b"key", limit=5, window=900)
                for _ in range(4)]
    allowed: List[bool] = []
    start = threading.Barrier(len(limiters) * 3)

    def attempt(limiter: auth.FailureLimiter) -> None:
        start.wait()
        allowed.append(limiter.attempt("203.0.113.5") == 0)

    threads = [threading.Thread(target=attempt, args=(limiter,)) for limiter in limiters * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(allowed) == 12 and allowed.count(True) <= 5
    with limiters[0].engine.connect() as db:  # a refused try leaves nothing counted
        assert db.execute(sa.text("select count(*) from console_limit_events")).scalar() == allowed.count(True)


def test_feedback_rate_limit_counts_across_processes(tmp_path: Path) -> None:
    one = auth.RateLimiter(engine_at(tmp_path / "console.db"), b"key", "feedback-conv", 3, 600)
    two = auth.RateLimiter(engine_at(tmp_path / "console.db"), b"key", "feedback-conv", 3, 600)
    assert [one.allow("web-a", now=10), two.allow("web-a", now=11), one.allow("web-a", now=12),
            two.allow("web-a", now=13)] == [True, True, True, False]
    assert two.allow("web-a", now=611) and one.allow("web-b", now=13)


def test_the_pseudonym_key_is_made_once_in_the_database(tmp_path: Path) -> None:
    conf = settings.load({"MUTU_DATA_DIR": str(tmp_path)})
    keys: List[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(secret(conf, engine_at(conf.console_db))))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(keys) == 6 and len(set(keys)) == 1 and len(keys[0]) == 64
    assert not (tmp_path / "console_secret").exists()  # no key file any more
    store = ConsoleStore(conf)
    assert store.key == keys[0] and store.conv("web-a") == ConsoleStore(conf).conv("web-a")


def test_a_key_file_of_an_earlier_version_keeps_the_pseudonyms(tmp_path: Path) -> None:
    (tmp_path / "console_secret").write_text("cle-d-avant\n", "utf-8")
    conf = settings.load({"MUTU_DATA_DIR": str(tmp_path)})
    assert ConsoleStore(conf).key == b"cle-d-avant"
    (tmp_path / "console_secret").unlink()
    assert ConsoleStore(conf).key == b"cle-d-avant"  # from the database now
    explicit = settings.load({"MUTU_DATA_DIR": str(tmp_path), "MUTU_CONSOLE_SECRET": "donnee"})
    assert ConsoleStore(explicit).key == b"donnee"


PROXIES = settings.load({"MUTU_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"}).trusted_proxies


@pytest.mark.parametrize("peer, forwarded, client", [
    ("198.51.100.1", ["203.0.113.9"], "198.51.100.1"),              # not a proxy: its header is not believed
    ("127.0.0.1", [], "127.0.0.1"),                                   # a trusted proxy that names nobody
    ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
    ("127.0.0.1", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),         # the left one was written by the client
    ("127.0.0.1", ["203.0.113.9", "10.1.2.3"], "203.0.113.9"),        # through two trusted proxies
    ("127.0.0.1", ["10.1.2.3", "10.4.5.6"], "10.1.2.3"),              # proxies all the way
    ("127.0.0.1", ["nimporte", "10.4.5.6"], "10.4.5.6"),              # no address: the last trusted hop
    ("::1", ["2001:db8::7"], "2001:db8::7"),
    ("::ffff:127.0.0.1", ["::ffff:203.0.113.9"], "203.0.113.9"),      # IPv4-mapped addresses
])
def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(peer: str, forwarded: List[str],
                                                                      client: str) -> None:
    assert pick_client(peer, forwarded, PROXIES) == client
    assert pick_client(peer, forwarded, ()) == str(pick_client(peer, [], ()))


def test_trusted_proxies_setting_is_checked() -> None:
    assert settings.load({}).trusted_proxies == ()
    with pytest.raises(settings.SettingsError, match="MUTU_TRUSTED_PROXIES"):
        settings.load({"MUTU_TRUSTED_PROXIES": "127.0.0.1, proxy.local"})


# ---- publishing: the lease, copies of the data, published models ---------------------------------
def test_one_lease_holder_at_a_time_and_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    one, two = engine_at(tmp_path / "console.db"), engine_at(tmp_path / "console.db")
    assert shared.acquire(one, "publication", "job-1", 120, now=1000)
    assert not shared.acquire(two, "publication", "job-2", 120, now=1001)
    assert shared.holder_of(two, "publication", now=1001) == "job-1"
    assert shared.acquire(two, "publication", "job-2", 120, now=1121)  # job-1 stopped renewing it
    assert not shared.renew(one, "publication", "job-1", 120)  # and cannot take it back
    shared.release(one, "publication", "job-1")  # nor give away what it no longer holds
    assert shared.holder_of(one, "publication", now=1122) == "job-2"
    shared.release(two, "publication", "job-2")
    assert shared.holder_of(one, "publication") is None


def test_racing_processes_one_gets_the_lease(tmp_path: Path) -> None:
    won: List[str] = []
    start = threading.Barrier(6)

    def take(n: int) -> None:
        engine = engine_at(tmp_path / "console.db")
        start.wait()
        if shared.acquire(engine, "publication", f"job-{n}", 120):
            won.append(f"job-{n}")

    threads = [threading.Thread(target=take, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(won) == 1 and shared.holder_of(engine_at(tmp_path / "console.db"), "publication") == won[0]


def test_published_models_are_stored_whole_served_by_name_and_pruned(tmp_path: Path) -> None:
    engine = engine_at(tmp_path / "console.db")
    first, second = tmp_path / "mutu.tar.gz", tmp_path / "mutu-2.tar.gz"
    first.write_bytes(b"premier" * 1000)
    second.write_bytes(bytes(range(256)) * (shared.CHUNK // 256 + 3))  # more than one chunk
    assert shared.published_model(engine) is None
    seeded = shared.seed_model(engine, first)
    assert seeded.name == "mutu.tar.gz" and shared.seed_model(engine, second).name == "mutu.tar.gz"
    stored = shared.put_model(engine, second, "mutu-2.tar.gz")
    assert stored.sha256 == hashlib.sha256(second.read_bytes()).hexdigest()
    assert b"".join(shared.model_chunks(engine, stored)) == second.read_bytes()
    assert shared.publish_model(engine, "mutu-2.tar.gz") == "mutu.tar.gz"
    assert shared.published_model(engine).name == "mutu-2.tar.gz"
    with pytest.raises(LookupError):
        shared.publish_model(engine, "nulle-part.tar.gz")
    assert shared.prune_models(engine, ["mutu-2.tar.gz"]) == 1
    assert shared.get_model(engine, "mutu.tar.gz") is None and shared.published_model(engine).size == stored.size


def test_snapshots_of_the_data_files(tmp_path: Path) -> None:
    engine = engine_at(tmp_path / "console.db")
    create_tables(engine)
    assert shared.snapshot(engine, "pending") is None
    shared.save_snapshot(engine, "pending", {"data/nlu/faq.yml": "a", "data/responses/faq.yml": "b"})
    assert shared.rename_snapshot(engine, "pending", "1:before") and shared.snapshot(engine, "pending") is None
    assert shared.snapshot(engine, "1:before") == {"data/nlu/faq.yml": "a", "data/responses/faq.yml": "b"}
    assert not shared.rename_snapshot(engine, "pending", "2:before")


def test_the_rasa_servers_are_told_where_to_pull_published_models(tmp_path: Path) -> None:
    from bot.launcher import endpoints_config
    plain = settings.load({"MUTU_DATA_DIR": str(tmp_path)})
    assert "models" not in endpoints_config(plain, "t")
    pulled = settings.load({"MUTU_DATA_DIR": str(tmp_path), "MUTU_MODEL_PULL_SECONDS": "15", "MUTU_WEB_PORT": "8001"})
    assert endpoints_config(pulled, "t")["models"] == {"url": "http://127.0.0.1:8001/modele/mutu.tar.gz",
                                                       "token": "t", "wait_time_between_pulls": 15}
    behind = settings.load({"MUTU_MODEL_PULL_SECONDS": "15", "MUTU_MODEL_URL": "http://web.interne/modele/mutu.tar.gz"})
    assert endpoints_config(behind, "t")["models"]["url"] == "http://web.interne/modele/mutu.tar.gz"


MODEL_PORT = 18208 + OFFSET


def test_the_web_server_serves_the_published_model_to_rasa(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "mutu.tar.gz").write_bytes(b"le premier modele" * 5000)
    env = {"MUTU_DATA_DIR": str(tmp_path / "var"), "MUTU_MODEL_DIR": str(models), "MUTU_API_TOKEN": "jeton",
           "MUTU_MODEL_PULL_SECONDS": "5"}
    proc = start_web(env, MODEL_PORT, tmp_path / "web.log")
    url = f"http://127.0.0.1:{MODEL_PORT}/modele/mutu.tar.gz"
    try:
        assert requests.get(url).status_code == 403 and requests.get(url, params={"token": "faux"}).status_code == 403
        first = requests.get(url, params={"token": "jeton"})  # the local model becomes the first published
        assert first.status_code == 200 and first.content == (models / "mutu.tar.gz").read_bytes()
        assert first.headers["ETag"] == hashlib.sha256(first.content).hexdigest()
        assert first.headers["filename"] == "mutu.tar.gz"
        again = requests.get(url, params={"token": "jeton"}, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""
        engine = engine_at(tmp_path / "var" / "console.db")  # a publication, by any console process
        (tmp_path / "mutu-2.tar.gz").write_bytes(b"le second" * 10)
        shared.put_model(engine, tmp_path / "mutu-2.tar.gz", "mutu-2.tar.gz")
        shared.publish_model(engine, "mutu-2.tar.gz")
        new = requests.get(url, params={"token": "jeton"}, headers={"If-None-Match": first.headers["ETag"]})
        assert new.status_code == 200 and new.content == b"le second" * 10
        assert new.headers["filename"] == "mutu-2.tar.gz"
    finally:
        stop_group(proc)


def project_copy(base: Path, name: str) -> Path:
    project = base / name
    for relative, text in {"data/nlu/faq.yml": "nlu: []\n", "data/responses/faq.yml": "responses: {}\n"}.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text, "utf-8")
    return project


def test_data_files_edited_on_one_machine_are_the_data_of_every_other(tmp_path: Path) -> None:
    from bot.console.project_files import SharedProject
    here, there = project_copy(tmp_path, "ici"), project_copy(tmp_path, "la-bas")
    (here / "data" / "responses" / "faq.yml").write_text("responses: {a: 1}\n", "utf-8")  # the first one seeds
    one = SharedProject(engine_at(tmp_path / "console.db"), here, enabled=True)
    two = SharedProject(engine_at(tmp_path / "console.db"), there, enabled=True)
    one.pull()
    two.pull()
    assert (there / "data" / "responses" / "faq.yml").read_text("utf-8") == "responses: {a: 1}\n"
    two.edit(lambda: (there / "data" / "nlu" / "console.yml").write_text("nlu: [b]\n", "utf-8"))
    one.pull()
    assert (here / "data" / "nlu" / "console.yml").read_text("utf-8") == "nlu: [b]\n"

    def append(project: Path, line: str) -> None:
        path = project / "data" / "nlu" / "faq.yml"
        path.write_text(path.read_text("utf-8") + line + "\n", "utf-8")

    threads = [threading.Thread(target=lambda n=n: (one, two)[n % 2].edit(
        lambda: append((here, there)[n % 2], f"# {n}"))) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    one.pull()
    two.pull()
    for project in (here, there):  # no edit lost: each was made on the latest files
        lines = (project / "data" / "nlu" / "faq.yml").read_text("utf-8").splitlines()
        assert sorted(lines[1:]) == sorted(f"# {n}" for n in range(8))
    alone = project_copy(tmp_path, "seul")
    SharedProject(engine_at(tmp_path / "console.db"), alone, enabled=False).pull()  # not scale: files only
    assert (alone / "data" / "nlu" / "faq.yml").read_text("utf-8") == "nlu: []\n"
