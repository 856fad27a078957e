"""What every console process shares through the console's database, so that none of it is a
local file another machine would need: leases (one publication at a time, across processes and
machines), copies of the data files (before and after each publication), and the published
models themselves (in chunks), which the web processes serve to the Rasa servers."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.console.store import META, STATE, create_tables, insert_once

LEASES = sa.Table(
    "console_leases", META,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
)
SNAPSHOTS = sa.Table(  # the data files: "pending" (as published, before the next change), "<n>:before", "<n>:after"
    "console_snapshots", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(40), nullable=False, index=True),
    sa.Column("path", sa.String(300), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
MODELS = sa.Table(
    "console_models", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False, default=False),
)
MODEL_CHUNKS = sa.Table(
    "console_model_chunks", META,
    sa.Column("model", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
PUBLISHED = "published_model"  # console_state: the name of the model the Rasa servers pull
CHUNK = 4 * 1024 * 1024


# ---- leases ------------------------------------------------------------------------------------
def acquire(engine: Engine, name: str, holder: str, seconds: float, now: Optional[float] = None) -> bool:
    """Take the lease ``name`` for ``seconds`` unless someone else holds it (race-safe: the name
    is the primary key; an expired lease is taken over by one process only)."""
    now = time.time() if now is None else now
    create_tables(engine)
    try:
        with engine.begin() as db:
            db.execute(sa.insert(LEASES).values(name=name, holder=holder, expires=now + seconds))
        return True
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as db:
        taken = db.execute(sa.update(LEASES).where(LEASES.c.name == name)
                           .where(sa.or_(LEASES.c.expires < now, LEASES.c.holder == holder))
                           .values(holder=holder, expires=now + seconds)).rowcount
    return taken == 1


def renew(engine: Engine, name: str, holder: str, seconds: float) -> bool:
    """Extend a lease still held by ``holder`` (False: it was lost)."""
    with engine.begin() as db:
        return db.execute(sa.update(LEASES).where(LEASES.c.name == name).where(LEASES.c.holder == holder)
                          .values(expires=time.time() + seconds)).rowcount == 1


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as db:
        db.execute(sa.delete(LEASES).where(LEASES.c.name == name).where(LEASES.c.holder == holder))


def holder_of(engine: Engine, name: str, now: Optional[float] = None) -> Optional[str]:
    """Who holds the lease now (None: nobody, or it expired)."""
    now = time.time() if now is None else now
    create_tables(engine)
    with engine.connect() as db:
        return db.execute(sa.select(LEASES.c.holder).where(LEASES.c.name == name)
                          .where(LEASES.c.expires >= now)).scalar()


# ---- copies of the data files ----------------------------------------------------------------
def save_snapshot(engine: Engine, owner: str, files: Dict[str, str]) -> None:
    """Keep ``files`` (path relative to the project → text) as the snapshot ``owner``, replacing it."""
    with engine.begin() as db:
        db.execute(sa.delete(SNAPSHOTS).where(SNAPSHOTS.c.owner == owner))
        for path, text in sorted(files.items()):
            db.execute(sa.insert(SNAPSHOTS).values(owner=owner, path=path, text=text))


def snapshot(engine: Engine, owner: str) -> Optional[Dict[str, str]]:
    """The files of snapshot ``owner``, or None when there is none."""
    with engine.connect() as db:
        rows = db.execute(sa.select(SNAPSHOTS.c.path, SNAPSHOTS.c.text).where(SNAPSHOTS.c.owner == owner)).fetchall()
    return {row.path: row.text for row in rows} or None


def rename_snapshot(engine: Engine, owner: str, new_owner: str) -> bool:
    with engine.begin() as db:
        db.execute(sa.delete(SNAPSHOTS).where(SNAPSHOTS.c.owner == new_owner))
        return db.execute(sa.update(SNAPSHOTS).where(SNAPSHOTS.c.owner == owner)
                          .values(owner=new_owner)).rowcount > 0


def drop_snapshot(engine: Engine, owner: str) -> None:
    with engine.begin() as db:
        db.execute(sa.delete(SNAPSHOTS).where(SNAPSHOTS.c.owner == owner))


# ---- published models --------------------------------------------------------------------------
@dataclass
class StoredModel:
    id: int
    name: str
    sha256: str
    size: int


def put_model(engine: Engine, path: Path, name: str) -> StoredModel:
    """Store the model file ``path`` under ``name`` (kept whole: the row is marked complete only
    once every chunk is in). A model already stored under that name is kept as it is."""
    create_tables(engine)
    found = get_model(engine, name)
    if found:
        return found
    digest, size = hashlib.sha256(), path.stat().st_size
    try:
        with engine.begin() as db:
            number = db.execute(sa.insert(MODELS).values(name=name, sha256="", size=size, created=time.time(),
                                                         complete=False)).inserted_primary_key[0]
    except sa.exc.IntegrityError:  # another process stores it at this moment
        return wait_for_model(engine, name)
    with path.open("rb") as handle:
        for n, data in enumerate(iter(lambda: handle.read(CHUNK), b"")):
            digest.update(data)
            with engine.begin() as db:
                db.execute(sa.insert(MODEL_CHUNKS).values(model=number, n=n, data=data))
    with engine.begin() as db:
        db.execute(sa.update(MODELS).where(MODELS.c.id == number).values(sha256=digest.hexdigest(), complete=True))
    return StoredModel(number, name, digest.hexdigest(), size)


def get_model(engine: Engine, name: str) -> Optional[StoredModel]:
    """A complete stored model by name."""
    with engine.connect() as db:
        row = db.execute(sa.select(MODELS).where(MODELS.c.name == name).where(MODELS.c.complete.is_(True))).first()
    return StoredModel(row.id, row.name, row.sha256, row.size) if row else None


def wait_for_model(engine: Engine, name: str, timeout: float = 600) -> StoredModel:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = get_model(engine, name)
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"model {name} was not stored in time")


def model_chunks(engine: Engine, model: StoredModel) -> Iterator[bytes]:
    """The model's bytes, one chunk (one short query) at a time."""
    n = 0
    while True:
        with engine.connect() as db:
            data = db.execute(sa.select(MODEL_CHUNKS.c.data).where(MODEL_CHUNKS.c.model == model.id)
                              .where(MODEL_CHUNKS.c.n == n)).scalar()
        if data is None:
            return
        yield bytes(data)
        n += 1


def published_model(engine: Engine) -> Optional[StoredModel]:
    """The model the Rasa servers are to serve (None: none published or seeded yet)."""
    create_tables(engine)
    with engine.connect() as db:
        name = db.execute(sa.select(STATE.c.value).where(STATE.c.key == PUBLISHED)).scalar()
    return get_model(engine, name) if name else None


def seed_model(engine: Engine, path: Path) -> Optional[StoredModel]:
    """The first published model: the local trained one (``make model``), stored once by
    whichever process comes first; nothing when there is already one or no file."""
    current = published_model(engine)
    if current or not path.exists():
        return current
    stored = put_model(engine, path, path.name)
    return get_model(engine, insert_once(engine, PUBLISHED, stored.name))


def publish_model(engine: Engine, name: str) -> Optional[str]:
    """Make the stored model ``name`` the published one; the name it replaces (None: none)."""
    if get_model(engine, name) is None:
        raise LookupError(f"no stored model {name}")
    with engine.begin() as db:
        previous = db.execute(sa.select(STATE.c.value).where(STATE.c.key == PUBLISHED)).scalar()
        if previous is None:
            db.execute(sa.insert(STATE).values(key=PUBLISHED, value=name))
        else:
            db.execute(sa.update(STATE).where(STATE.c.key == PUBLISHED).values(value=name))
    return previous


def prune_models(engine: Engine, keep: List[str]) -> int:
    """Delete the stored models not named in ``keep`` (the published one and the one an undo
    would bring back); unfinished ones too."""
    with engine.begin() as db:
        doomed = db.execute(sa.select(MODELS.c.id).where(MODELS.c.name.not_in(keep))).scalars().all()
        for number in doomed:
            db.execute(sa.delete(MODEL_CHUNKS).where(MODEL_CHUNKS.c.model == number))
            db.execute(sa.delete(MODELS).where(MODELS.c.id == number))
    return len(doomed)
