"""The project's data files the console edits and publishes (data/nlu/*.yml, data/responses/*.yml).

Under ``MUTU_STORE_PROFILE=scale`` the console's copy of them lives in its database, so that web
processes on several machines edit and publish the same data: each process brings its
MUTU_PROJECT_DIR up to date from the database before a page reads it (one small query when
nothing changed), and an edit is made under the lease « project-edit », on the latest files,
then stored with a new revision number. The first process seeds the database from its own files.
Without ``scale`` the files of MUTU_PROJECT_DIR are the only copy (one machine)."""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.console import shared
from bot.console.editor import GENERATED, EditError
from bot.console.store import STATE, create_tables, insert_once

REVISION, WORKING_COPY, LEASE = "project_revision", "project", "project-edit"
BUSY = "La console enregistre une autre modification en ce moment. Veuillez réessayer dans quelques secondes."
Result = TypeVar("Result")


def data_files(project: Path) -> List[Path]:
    """The training examples and the answers (not the generated long-message examples)."""
    data = project / "data"
    files = [p for p in sorted((data / "nlu").glob("*.yml")) if p.name != GENERATED]
    return files + sorted((data / "responses").glob("*.yml"))


def read_files(project: Path) -> Dict[str, str]:
    return {str(path.relative_to(project)): path.read_text("utf-8") for path in data_files(project)}


def restore(project: Path, files: Dict[str, str]) -> None:
    """The data files as in ``files``; data files it does not have are removed."""
    for path in data_files(project):
        if str(path.relative_to(project)) not in files:
            path.unlink()
    for relative, text in files.items():
        destination = project / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists() and destination.read_text("utf-8") == text:
            continue
        tmp = destination.with_name(f".{destination.name}.tmp")
        tmp.write_text(text, "utf-8")
        os.replace(tmp, destination)


class SharedProject:
    """The data files of ``project``, kept in the database too when ``enabled``."""

    def __init__(self, engine: Engine, project: Path, enabled: bool) -> None:
        self.engine, self.project, self.enabled = engine, project, enabled
        if enabled:
            create_tables(engine)
        self.applied: Optional[str] = None  # the revision the local files are at

    def revision(self) -> Optional[str]:
        with self.engine.connect() as db:
            return db.execute(sa.select(STATE.c.value).where(STATE.c.key == REVISION)).scalar()

    def pull(self) -> None:
        """Bring the local files to the database's revision (seeding it the first time)."""
        if not self.enabled:
            return
        revision = self.revision()
        if revision is None:
            self.edit(lambda: None)
        elif revision != self.applied:
            restore(self.project, shared.snapshot(self.engine, WORKING_COPY) or {})
            self.applied = revision

    def edit(self, change: Callable[[], Result], wait: float = 30) -> Result:
        """``change()`` (which edits the local files) on the latest files, stored for every process."""
        if not self.enabled:
            return change()
        holder = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        while not shared.acquire(self.engine, LEASE, holder, 60):
            if time.monotonic() > deadline:
                raise EditError(BUSY)
            time.sleep(0.1)
        try:
            revision = self.revision()
            if revision is not None and revision != self.applied:
                restore(self.project, shared.snapshot(self.engine, WORKING_COPY) or {})
            result = change()
            shared.save_snapshot(self.engine, WORKING_COPY, read_files(self.project))
            self.applied = self._next_revision(revision)
            return result
        finally:
            shared.release(self.engine, LEASE, holder)

    def _next_revision(self, revision: Optional[str]) -> str:
        if revision is None:
            return insert_once(self.engine, REVISION, "1")
        following = str(int(revision) + 1)
        with self.engine.begin() as db:
            db.execute(sa.update(STATE).where(STATE.c.key == REVISION).values(value=following))
        return following
