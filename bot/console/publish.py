"""« Publier »: the console's changes become the running bot's, without stopping it.

A publication takes the database lease « publication » (one at a time, whichever console process,
on whichever machine, starts it), copies the data files (before and after) into the database,
and starts `bot.console.publish_job` in the background (train → check → make the model available
to the Rasa servers), which records its progress and its outcome in the database, renews the lease
while it runs and gives it back at the end. Any console process shows any publication and can undo
the last one: the data files come back as they were before it and the model serving then is
served again.

How the Rasa servers get a published model (``MUTU_MODEL_PULL_SECONDS``):
- 0 (default): the job loads the new model file (under MUTU_MODEL_DIR, which every Rasa server
  must read: one machine, or a shared folder) with Rasa's ``PUT /model`` into MUTU_RASA_PORT's
  server, and copies it to ``models/mutu.tar.gz`` so that a restart serves it too;
- N > 0: the job stores the model in the database; every web process serves the published one at
  ``/modele/mutu.tar.gz`` (bot/console/model_server.py) and every Rasa server pulls it from there
  every N seconds (Rasa's ``models`` endpoint, written by the launcher): no shared folder."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import sqlalchemy as sa

from bot.console import shared
from bot.console.editor import EditError
from bot.console.project_files import read_files, restore
from bot.console.store import META, QUEBEC, ConsoleStore, create_tables
from bot.settings import ROOT, Settings

PUBLICATIONS = sa.Table(
    "console_publications", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running | ok | failed | undone
    sa.Column("message", sa.Text),
    sa.Column("model", sa.Text),            # a file under MUTU_MODEL_DIR, or (pulled) a stored model's name
    sa.Column("previous_model", sa.Text),
    sa.Column("duration", sa.Float),
    sa.Column("undo_of", sa.Integer),
)
PROGRESS = sa.Table(  # what the running job is doing, for every console process to show
    "console_publication_progress", META,
    sa.Column("publication", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("progress", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)
LEASE, LEASE_SECONDS = "publication", 120.0
BUSY = ("Une publication est déjà en cours, lancée depuis cette console ou depuis une autre fenêtre. "
        "Veuillez attendre qu'elle se termine (suivez-la sur cette page), puis publiez de nouveau.")
INTERRUPTED = "La publication s'est interrompue. Le modèle actuel reste en service."
PENDING = "pending"  # the snapshot of the data as last published, taken before the first change


def stamp_now() -> str:
    return datetime.now(QUEBEC).strftime("%Y%m%d-%H%M%S")


def set_progress(engine: sa.engine.Engine, number: int, progress: float, message: str, started: float) -> None:
    values = dict(progress=int(round(progress)), message=message[:500], updated=time.time())
    with engine.begin() as db:
        if not db.execute(sa.update(PROGRESS).where(PROGRESS.c.publication == number).values(**values)).rowcount:
            db.execute(sa.insert(PROGRESS).values(publication=number, started=started, **values))


class Publisher:
    def __init__(self, conf: Settings, store: ConsoleStore) -> None:
        self.conf, self.store, self.engine = conf, store, store.engine
        self.folder = conf.data_dir / "publications"  # the logs of the jobs started by this process
        create_tables(self.engine)
        self.process: Optional[subprocess.Popen] = None

    @property
    def pulled(self) -> bool:
        """True when the Rasa servers pull published models from the database (no shared folder)."""
        return self.conf.model_pull_seconds > 0

    # ---- before any change: remember the data as published -------------------------------------
    def before_change(self) -> None:
        """Called before the console edits a data file: the first change after a publication
        keeps a copy of the data as it was, which undoing the next publication restores."""
        if shared.snapshot(self.engine, PENDING) is None:
            shared.save_snapshot(self.engine, PENDING, read_files(self.conf.project_dir))

    def serving_copy(self) -> Path:
        """The model the launcher starts Rasa with (MUTU_MODEL_DIR/mutu.tar.gz)."""
        from bot.launcher import model_path
        return model_path(self.conf)

    def _install(self, model: Path) -> None:
        """A published model becomes models/mutu.tar.gz, so that a restart serves it too (and make,
        seeing a model newer than the data, does not train again)."""
        target = self.serving_copy()
        if model.exists() and model != target:
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copy2(model, tmp)
            os.replace(tmp, target)
            os.utime(target)

    # ---- the model serving now ------------------------------------------------------------------
    def running_model(self) -> Optional[str]:
        if self.pulled:
            found = shared.published_model(self.engine) or shared.seed_model(self.engine, self.serving_copy())
            return found.name if found else None
        token = self.conf.api_token
        if not token:
            return None
        try:
            with urllib.request.urlopen(f"{self.conf.rasa_url}/status?token={token}", timeout=10) as resp:
                name = json.loads(resp.read()).get("model_file") or None
        except (OSError, ValueError):
            return None
        if not name:
            return None
        path = Path(name) if Path(name).is_absolute() else self.conf.model_dir / Path(name).name
        return str(path)  # Rasa gives the file name only: our models are all in MUTU_MODEL_DIR

    def model_available(self, model: Optional[str]) -> bool:
        if not model:
            return False
        return shared.get_model(self.engine, model) is not None if self.pulled else Path(model).exists()

    # ---- the history ----------------------------------------------------------------------------
    def list(self, limit: int = 50) -> List[Any]:
        self.refresh()
        with self.engine.connect() as db:
            return db.execute(sa.select(PUBLICATIONS).order_by(PUBLICATIONS.c.id.desc()).limit(limit)).fetchall()

    def running(self) -> Optional[Any]:
        with self.engine.connect() as db:
            return db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "running")).first()

    def row(self, number: int) -> Optional[Any]:
        with self.engine.connect() as db:
            return db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.id == number)).first()

    def status(self, number: int) -> Dict[str, Any]:
        self.refresh()
        row = self.row(number)
        if row is None:
            return {"status": "unknown"}
        state: Dict[str, Any] = {"status": row.status, "message": row.message or ""}
        with self.engine.connect() as db:
            progress = db.execute(sa.select(PROGRESS).where(PROGRESS.c.publication == number)).first()
        if row.status == "running" and progress is not None:
            state.update(progress=progress.progress, message=progress.message,
                         elapsed=round(time.time() - progress.started))
        state.setdefault("progress", 100 if row.status != "running" else 0)
        return state

    def refresh(self) -> None:
        """A publication still « running » whose job no longer holds the lease died: it failed."""
        if self.process is not None:
            self.process.poll()  # reap a finished job (no zombie)
        if self.running() is None or shared.holder_of(self.engine, LEASE) is not None:
            return
        holder = secrets.token_hex(16)
        if shared.acquire(self.engine, LEASE, holder, 60):
            try:
                self._fail_abandoned()
            finally:
                shared.release(self.engine, LEASE, holder)

    def _fail_abandoned(self) -> None:
        """Under the lease: every publication still « running » lost its job."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "running")).fetchall()
        for row in rows:
            self._conclude(row, False, INTERRUPTED, None, 0)

    # ---- a publication --------------------------------------------------------------------------
    def _leased(self, work: Callable[[str], int]) -> int:
        """``work(holder)`` under the publication lease, or the polite refusal when it is taken.
        The lease passes to the job, which gives it back; if starting fails, it is given back here."""
        holder = secrets.token_hex(16)
        if not shared.acquire(self.engine, LEASE, holder, LEASE_SECONDS):
            raise EditError(BUSY)
        try:
            return work(holder)
        except BaseException:
            shared.release(self.engine, LEASE, holder)
            raise

    def start(self, who: str, threshold: float = 0.95) -> int:
        """Start a publication of the changes."""
        return self._leased(lambda holder: self._start(holder, who, threshold))

    def _previous(self, stamp: str) -> Optional[str]:
        """The model serving now, as the undo of this publication will load it again."""
        previous = self.running_model()
        if not self.pulled and previous and Path(previous) == self.serving_copy() and Path(previous).exists():
            # models/mutu.tar.gz is replaced when this publication succeeds: keep what it was
            kept = self.conf.model_dir / f"mutu-avant-{stamp}.tar.gz"
            shutil.copy2(previous, kept)
            previous = str(kept)
        return previous

    def _start(self, holder: str, who: str, threshold: float = 0.95, undo_of: Optional[int] = None,
               model: Optional[str] = None) -> int:
        """Under the lease: record the publication, copy the data, start the job (with ``model``:
        only load that existing model, for an undo)."""
        self._fail_abandoned()
        self.store.project.pull()  # the data as last saved by any console process
        changes = self.store.pending_changes()
        summary = "; ".join(c.summary for c in changes) or "aucun changement de contenu"
        if undo_of:
            summary = f"annulation de la publication no {undo_of}"
        stamp = stamp_now()
        previous = self.running_model() if undo_of else self._previous(stamp)
        name = f"mutu-{stamp}.tar.gz"
        new_model = model or (name if self.pulled else str(self.conf.model_dir / name))
        with self.engine.begin() as db:
            number = db.execute(sa.insert(PUBLICATIONS).values(
                ts=time.time(), who=who[:80], summary=summary[:4000], status="running",
                model=new_model, previous_model=previous, undo_of=undo_of)).inserted_primary_key[0]
        set_progress(self.engine, number, 0, "Préparation", time.time())
        if not undo_of and not shared.rename_snapshot(self.engine, PENDING, f"{number}:before"):
            shared.save_snapshot(self.engine, f"{number}:before", read_files(self.conf.project_dir))
        shared.save_snapshot(self.engine, f"{number}:after", read_files(self.conf.project_dir))
        spec = {"publication": number, "holder": holder, "changes_upto": max((c.id for c in changes), default=0),
                "project": str(self.conf.project_dir), "model": str(self.conf.model_dir / Path(new_model).name),
                "name": Path(new_model).name, "rasa_url": self.conf.rasa_url, "token": self.conf.api_token,
                "threshold": threshold, "skip_training": bool(model), "pull": self.conf.model_pull_seconds,
                "questions": str(self.conf.project_dir / "tests" / "questions.yml")}
        self.process = self._spawn(number, spec)
        return number

    def _spawn(self, number: int, spec: Dict[str, Any]) -> subprocess.Popen:
        job = self.folder / str(number)
        job.mkdir(parents=True, exist_ok=True)
        (job / "job.json").write_text(json.dumps(spec), "utf-8")
        (job / "job.json").chmod(0o600)  # it holds the API token
        env = {"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
               "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
        return subprocess.Popen([sys.executable, "-m", "bot.console.publish_job", str(job)],
                                cwd=str(self.conf.project_dir), env={**os.environ, **env},
                                stdout=subprocess.DEVNULL, stderr=open(job / "job.log", "wb"))

    # ---- the end of a publication (in the job's process, or here for a job that died) -----------
    def conclude(self, number: int, ok: bool, message: str, duration: Optional[float], changes_upto: int,
                 holder: str) -> None:
        """Record the outcome of publication ``number`` and give the lease back."""
        try:
            row = self.row(number)
            if row is not None and row.status == "running":
                self._conclude(row, ok, message, duration, changes_upto)
        finally:
            shared.release(self.engine, LEASE, holder)

    def _conclude(self, row: Any, ok: bool, message: str, duration: Optional[float], changes_upto: int) -> None:
        if not ok and row.undo_of is None:
            self._keep_failed_model_out(row)
            before = shared.snapshot(self.engine, f"{row.id}:before")
            if before and shared.snapshot(self.engine, PENDING) is None:  # the next try starts from the same data
                shared.save_snapshot(self.engine, PENDING, before)
        if ok and not self.pulled:
            self._install(Path(row.model or ""))
        if ok and row.undo_of is None:
            self.store.mark_published(row.id, changes_upto)
        with self.engine.begin() as db:
            db.execute(sa.update(PUBLICATIONS).where(PUBLICATIONS.c.id == row.id).values(
                status="ok" if ok else "failed", message=message, duration=duration))
            if ok and row.undo_of:
                db.execute(sa.update(PUBLICATIONS).where(PUBLICATIONS.c.id == row.undo_of).values(status="undone"))
        if self.pulled:
            shared.prune_models(self.engine, self._models_to_keep())

    def _models_to_keep(self) -> List[str]:
        """The published model and those an undo of the last successful publication needs."""
        published = shared.published_model(self.engine)
        with self.engine.connect() as db:
            last = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "ok")
                              .order_by(PUBLICATIONS.c.id.desc())).first()
        names = [published.name if published else None] + ([last.model, last.previous_model] if last else [])
        return [name for name in names if name]

    def _keep_failed_model_out(self, row: Any) -> None:
        """A model that failed its check is deleted (it is never served; the data stays as edited),
        with the copy of models/mutu.tar.gz this publication made, if it made one."""
        if self.pulled:
            Path(self.conf.model_dir / Path(row.model or "x").name).unlink(missing_ok=True)  # the job's file
            return
        model = Path(row.model or "")
        own_copy = model.with_name(model.name.replace("mutu-", "mutu-avant-", 1))
        for path in (model, own_copy):
            if path.parent == self.conf.model_dir and path.name.startswith("mutu-") and path.exists() \
                    and str(path) in (row.model, row.previous_model):
                path.unlink()

    # ---- undo -----------------------------------------------------------------------------------
    def undo(self, number: int, who: str) -> int:
        """Undo the last successful publication: its data files as before, the model before it."""
        self.refresh()
        return self._leased(lambda holder: self._undo(holder, number, who))

    def _undo(self, holder: str, number: int, who: str) -> int:
        row = self.row(number)
        with self.engine.connect() as db:
            last = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "ok")
                              .order_by(PUBLICATIONS.c.id.desc())).first()
        if row is None or last is None or row.id != last.id or row.undo_of:
            raise EditError("Seule la dernière publication réussie peut être annulée.")
        if not self.model_available(row.previous_model):
            raise EditError("Le modèle d'avant cette publication n'est plus disponible.")
        before = shared.snapshot(self.engine, f"{number}:before")
        if before is None:
            raise EditError("La copie des données d'avant cette publication est introuvable.")
        self.store.project.edit(lambda: restore(self.conf.project_dir, before))
        shared.drop_snapshot(self.engine, PENDING)
        self.store.mark_published(0, 10 ** 12)  # unpublished changes went with the restored files
        return self._start(holder, who, undo_of=number, model=row.previous_model)

