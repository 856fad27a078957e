"""« Publier »: the console's changes become the running bot's, without stopping it.

A publication snapshots the data files (before and after), starts `bot.console.publish_job` in
the background (train → check → `PUT /model`), and is kept with who, when, what changed and
its outcome. Undoing the last publication restores the data files as they were before it and
loads the model that was serving then. Publications live under MUTU_DATA_DIR/publications/."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.console.editor import EditError, GENERATED
from bot.console.store import META, QUEBEC, ConsoleStore
from bot.settings import ROOT, Settings

PUBLICATIONS = sa.Table(
    "console_publications", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running | ok | failed | undone
    sa.Column("message", sa.Text),
    sa.Column("model", sa.Text),
    sa.Column("previous_model", sa.Text),
    sa.Column("duration", sa.Float),
    sa.Column("undo_of", sa.Integer),
)
LOCK = threading.Lock()


def data_files(project: Path) -> List[Path]:
    """What a publication snapshots: the training examples and the answers."""
    data = project / "data"
    files = [p for p in sorted((data / "nlu").glob("*.yml")) if p.name != GENERATED]
    return files + sorted((data / "responses").glob("*.yml"))


def snapshot(project: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for path in data_files(project):
        destination = target / path.relative_to(project)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def restore(project: Path, source: Path) -> None:
    """The data files as in ``source``; files the snapshot does not have are removed."""
    wanted = {p.relative_to(source) for p in source.rglob("*.yml")}
    for path in data_files(project):
        if path.relative_to(project) not in wanted:
            path.unlink()
    for relative in wanted:
        destination = project / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, destination)


def stamp_now() -> str:
    return datetime.now(QUEBEC).strftime("%Y%m%d-%H%M%S")


class Publisher:
    def __init__(self, conf: Settings, store: ConsoleStore) -> None:
        self.conf, self.store = conf, store
        self.folder = conf.data_dir / "publications"
        self.folder.mkdir(parents=True, exist_ok=True)
        META.create_all(store.engine)
        self.process: Optional[subprocess.Popen] = None

    # ---- before any change: remember the data as published -------------------------------------
    def before_change(self) -> None:
        """Called before the console edits a data file: the first change after a publication
        keeps a copy of the data as it was, which undoing the next publication restores."""
        base = self.folder / "pending-before"
        if not base.exists():
            snapshot(self.conf.project_dir, base)

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

    # ---- Rasa's HTTP API ------------------------------------------------------------------------
    def running_model(self) -> Optional[str]:
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

    # ---- a publication --------------------------------------------------------------------------
    def list(self, limit: int = 50) -> List[Any]:
        self.refresh()
        with self.store.engine.connect() as db:
            return db.execute(sa.select(PUBLICATIONS).order_by(PUBLICATIONS.c.id.desc()).limit(limit)).fetchall()

    def running(self) -> Optional[Any]:
        with self.store.engine.connect() as db:
            return db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "running")).first()

    def start(self, who: str, threshold: float = 0.95, undo_of: Optional[int] = None,
              model: Optional[str] = None) -> int:
        """Start a publication (or, with ``model``, the loading of an existing model for an undo)."""
        with LOCK:
            self.refresh()
            if self.running():
                raise EditError("Une publication est déjà en cours.")
            changes = self.store.pending_changes()
            summary = "; ".join(c.summary for c in changes) or "aucun changement de contenu"
            if undo_of:
                summary = f"annulation de la publication no {undo_of}"
            previous = self.running_model()
            stamp = stamp_now()
            if previous and Path(previous) == self.serving_copy() and Path(previous).exists() and not undo_of:
                # models/mutu.tar.gz is replaced when this publication succeeds: keep what it was
                kept = self.conf.model_dir / f"mutu-avant-{stamp}.tar.gz"
                shutil.copy2(previous, kept)
                previous = str(kept)
            new_model = model or str(self.conf.model_dir / f"mutu-{stamp}.tar.gz")
            with self.store.engine.begin() as db:
                number = db.execute(sa.insert(PUBLICATIONS).values(
                    ts=time.time(), who=who[:80], summary=summary[:4000], status="running",
                    model=new_model, previous_model=previous, undo_of=undo_of)).inserted_primary_key[0]
            job = self.folder / str(number)
            job.mkdir(parents=True, exist_ok=True)
            base = self.folder / "pending-before"
            if not undo_of:
                if base.exists():
                    shutil.move(str(base), str(job / "before"))
                else:
                    snapshot(self.conf.project_dir, job / "before")
            snapshot(self.conf.project_dir, job / "after")
            spec = {"changes_upto": max((c.id for c in changes), default=0),"project": str(self.conf.project_dir), "model": new_model, "rasa_url": self.conf.rasa_url,
                    "token": self.conf.api_token, "threshold": threshold, "skip_training": bool(model),
                    "questions": str(self.conf.project_dir / "tests" / "questions.yml")}
            (job / "job.json").write_text(json.dumps(spec), "utf-8")
            (job / "job.json").chmod(0o600)  # it holds the API token
            env = {"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
            self.process = subprocess.Popen([sys.executable, "-m", "bot.console.publish_job", str(job)],
                                            cwd=str(self.conf.project_dir), env={**os.environ, **env},
                                            stdout=subprocess.DEVNULL, stderr=open(job / "job.log", "wb"))
            return number

    def status(self, number: int) -> Dict[str, Any]:
        self.refresh()
        job = self.folder / str(number)
        with self.store.engine.connect() as db:
            row = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.id == number)).first()
        if row is None:
            return {"status": "unknown"}
        state: Dict[str, Any] = {"status": row.status, "message": row.message or ""}
        if row.status == "running" and (job / "status.json").exists():
            try:
                state.update(json.loads((job / "status.json").read_text("utf-8")))
            except ValueError:
                pass
        state.setdefault("progress", 100 if row.status != "running" else 0)
        return state

    def refresh(self) -> None:
        """Record the outcome of finished jobs (or of jobs whose process died)."""
        if self.process is not None:
            self.process.poll()  # reap a finished job (no zombie)
        with self.store.engine.connect() as db:
            rows = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "running")).fetchall()
        for row in rows:
            job = self.folder / str(row.id)
            result_path = job / "result.json"
            if result_path.exists():
                result = json.loads(result_path.read_text("utf-8"))
                values = {"status": "ok" if result["ok"] else "failed", "message": result["message"],
                          "duration": result.get("duration")}
            elif self.process is None or self.process.poll() is not None:
                if self.process is None and time.time() - row.ts < 3600:
                    continue  # started by another web process, or still starting
                values = {"status": "failed", "message": "La publication s'est interrompue. Le modèle actuel reste en service."}
            else:
                continue
            if values["status"] == "failed" and row.undo_of is None:
                self._keep_failed_model_out(row)
                base = self.folder / "pending-before"
                if (job / "before").exists() and not base.exists():  # the next try starts from the same data
                    shutil.copytree(job / "before", base)
            if values["status"] == "ok":
                self._install(Path(row.model or ""))
            if values["status"] == "ok" and row.undo_of is None:
                upto = json.loads((job / "job.json").read_text("utf-8")).get("changes_upto", 0)
                self.store.mark_published(row.id, upto)
            with self.store.engine.begin() as db:
                db.execute(sa.update(PUBLICATIONS).where(PUBLICATIONS.c.id == row.id).values(**values))
                if values["status"] == "ok" and row.undo_of:
                    db.execute(sa.update(PUBLICATIONS).where(PUBLICATIONS.c.id == row.undo_of).values(status="undone"))

    def _keep_failed_model_out(self, row: Any) -> None:
        """A model that failed its check is deleted (it is never served; the data stays as edited),
        with the copy of models/mutu.tar.gz this publication made, if it made one."""
        model = Path(row.model or "")
        own_copy = model.with_name(model.name.replace("mutu-", "mutu-avant-", 1))
        for path in (model, own_copy):
            if path.parent == self.conf.model_dir and path.name.startswith("mutu-") and path.exists() \
                    and str(path) in (row.model, row.previous_model):
                path.unlink()

    def undo(self, number: int, who: str) -> int:
        """Undo the last successful publication: its data files as before, the model before it."""
        self.refresh()
        with self.store.engine.connect() as db:
            row = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.id == number)).first()
            last = db.execute(sa.select(PUBLICATIONS).where(PUBLICATIONS.c.status == "ok")
                              .order_by(PUBLICATIONS.c.id.desc())).first()
        if row is None or last is None or row.id != last.id or row.undo_of:
            raise EditError("Seule la dernière publication réussie peut être annulée.")
        if not row.previous_model or not Path(row.previous_model).exists():
            raise EditError("Le modèle d'avant cette publication n'est plus disponible.")
        before = self.folder / str(number) / "before"
        if not before.exists():
            raise EditError("La copie des données d'avant cette publication est introuvable.")
        restore(self.conf.project_dir, before)
        shutil.rmtree(self.folder / "pending-before", ignore_errors=True)
        self.store.mark_published(0, 10 ** 12)  # unpublished changes went with the restored files
        return self.start(who, undo_of=number, model=row.previous_model)
