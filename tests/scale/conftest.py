"""PostgreSQL and Redis on loopback for the scale-out test, started from Debian's packages
(`make test-scale` installs them when missing), each in a private folder, stopped afterwards."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, Iterator

import pytest

from tests.conftest import wait_for

PG_PORT, REDIS_PORT = 15432, 16379
PG_PASSWORD = "mutu-scale-test"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} not found: `make test-scale` installs Debian's postgresql")
    return found[-1]


def _as_postgres(argv: list) -> list:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres() -> Iterator[Dict[str, str]]:
    # Its own folder under /tmp: pytest's are private to root, and PostgreSQL won't run as root.
    base = Path(tempfile.mkdtemp(prefix="mutu-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres")
    subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "mutu", "--pwfile", str(pwfile),
                                 "-A", "scram-sha-256", "-E", "UTF8"]), check=True, capture_output=True)
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start",
                                 "-o", f"-p {PG_PORT} -k {sock} -c listen_addresses=127.0.0.1"]),
                   check=True, capture_output=True)
    env = dict(os.environ, PGPASSWORD=PG_PASSWORD)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "mutu", "-d", "postgres", "-c",
                    "CREATE DATABASE mutu"], check=True, capture_output=True, env=env)
    yield {"MUTU_PG_HOST": "127.0.0.1", "MUTU_PG_PORT": str(PG_PORT), "MUTU_PG_DB": "mutu",
           "MUTU_PG_USER": "mutu", "MUTU_PG_PASSWORD": PG_PASSWORD}
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    if not shutil.which("redis-server"):
        pytest.fail("redis-server not found: `make test-scale` installs Debian's redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        import socket
        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    wait_for(answers, 30, "redis did not start")
    yield {"MUTU_REDIS_HOST": "127.0.0.1", "MUTU_REDIS_PORT": str(REDIS_PORT)}
    proc.terminate()
    proc.wait(10)
