"""PostgreSQL and Redis on loopback, started from Debian's packages (`make scale-deps` installs
them when missing), each in a private folder and stopped afterwards. Used by the scale-out tests
(tests/scale/conftest.py) and by `make bench`'s scale-profile run."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator

PG_PASSWORD = "mutu-scale-test"


class ServiceError(RuntimeError):
    """A service could not be found or started."""


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise ServiceError(f"PostgreSQL's {name} not found: `make scale-deps` installs Debian's postgresql")
    return found[-1]


def _as_postgres(argv: list) -> list:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres_server(port: int) -> Iterator[Dict[str, str]]:
    """A fresh PostgreSQL cluster with a ``mutu`` database; yields the MUTU_PG_* settings."""
    # Its own folder under /tmp: pytest's are private to root, and PostgreSQL won't run as root.
    base = Path(tempfile.mkdtemp(prefix="mutu-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORD)
    if os.geteuid() == 0:
        for path in (base, sock, pwfile):
            shutil.chown(path, "postgres")
    try:
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "mutu", "--pwfile", str(pwfile),
                                     "-A", "scram-sha-256", "-E", "UTF8"]), check=True, capture_output=True)
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start",
                                     "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"]),
                       check=True, capture_output=True)
        env = dict(os.environ, PGPASSWORD=PG_PASSWORD)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "mutu", "-d", "postgres", "-c",
                        "CREATE DATABASE mutu"], check=True, capture_output=True, env=env)
        yield {"MUTU_PG_HOST": "127.0.0.1", "MUTU_PG_PORT": str(port), "MUTU_PG_DB": "mutu",
               "MUTU_PG_USER": "mutu", "MUTU_PG_PASSWORD": PG_PASSWORD}
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                           capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(port: int, timeout: float = 30) -> Iterator[Dict[str, str]]:
    """A Redis without persistence; yields the MUTU_REDIS_* settings."""
    if not shutil.which("redis-server"):
        raise ServiceError("redis-server not found: `make scale-deps` installs Debian's redis-server")
    workdir = Path(tempfile.mkdtemp(prefix="mutu-redis-"))
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not _redis_answers(port):  # readiness, not a fixed sleep
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceError("redis did not start")
            time.sleep(0.1)
        yield {"MUTU_REDIS_HOST": "127.0.0.1", "MUTU_REDIS_PORT": str(port)}
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
