"""One publication, in its own process (`python -m bot.console.publish_job JOB_DIR`): train a new
model from the project's data into a new file under models/, check it on the question set, then
make it the running one: load it into the running Rasa server with `PUT /model` (Rasa's HTTP API,
with the API token), or, when the Rasa servers pull published models (MUTU_MODEL_PULL_SECONDS),
store it in the database as the published model and wait until the Rasa server answers with it.
Progress and outcome go to the console's database (every console process shows them); the job
holds the publication lease while it runs (renewed every few seconds) and gives it back at the
end. When anything fails the running model is left as it was and the reason is written in plain
French. JOB_DIR keeps the training log."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional

EPOCHS = re.compile(r"Epochs:\s+(\d+)%")


def write(path: Path, data: Dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


class Job:
    def __init__(self, folder: Path) -> None:
        from bot import settings
        from bot.console.publish import Publisher
        from bot.console.store import ConsoleStore
        self.folder = folder
        self.spec = json.loads((folder / "job.json").read_text("utf-8"))
        self.started = time.time()
        conf = settings.load()  # the web process's settings: the job inherits its environment
        self.publisher = Publisher(conf, ConsoleStore(conf))
        self.engine = self.publisher.engine
        self.stopped = threading.Event()

    def keep_lease(self) -> None:
        """Renew the publication lease while the job runs (a job that dies loses it: then any
        console process records the publication as interrupted)."""
        from bot.console import shared
        from bot.console.publish import LEASE, LEASE_SECONDS
        while not self.stopped.wait(LEASE_SECONDS / 8):
            try:
                shared.renew(self.engine, LEASE, self.spec["holder"], LEASE_SECONDS)
            except Exception:  # noqa: BLE001 - the database is away for a moment: try again
                pass

    def status(self, progress: float, message: str) -> None:
        from bot.console.publish import set_progress
        set_progress(self.engine, self.spec["publication"], progress, message, self.started)

    def finish(self, ok: bool, message: str, **extra: Any) -> int:
        self.stopped.set()
        write(self.folder / "result.json", {"ok": ok, "message": message,
                                            "duration": round(time.time() - self.started, 1), **extra})
        self.status(100 if ok else 0, message)
        self.publisher.conclude(self.spec["publication"], ok, message, round(time.time() - self.started, 1),
                                int(self.spec.get("changes_upto", 0)), self.spec["holder"])
        return 0 if ok else 1

    # ---- the steps ----------------------------------------------------------------------------
    def train(self) -> Optional[str]:
        project, model = Path(self.spec["project"]), Path(self.spec["model"])
        generated = project / "data" / "nlu" / "generated_preambles.yml"
        if generated.exists() and self.spec.get("augment", True):  # what make does before training
            from bot.tools.augment import generate
            generated.write_text(generate(project / "data" / "nlu"), "utf-8")
        argv = [sys.executable, "-m", "rasa", "train", "--config", str(project / "config.yml"),
                "--domain", str(project / "domain.yml"), "--data", str(project / "data"),
                "--out", str(model.parent), "--fixed-model-name", model.name[:-len(".tar.gz")]]
        log = open(self.folder / "train.log", "wb")
        proc = subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        bars, last, buffer = 0, -1, b""
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(4096)
            if not chunk:
                break
            log.write(chunk)
            buffer = (buffer + chunk)[-8192:]
            for line in re.split(rb"[\r\n]", buffer):
                match = EPOCHS.search(line.decode("utf-8", "replace"))
                if match:
                    percent = int(match.group(1))
                    if percent < last - 50:  # a new classifier's bar started
                        bars += 1
                    last = percent
            if last >= 0:
                stage = "compréhension des questions" if bars == 0 else "choix des réponses"
                self.status(10 + 70 * min((bars + last / 100) / 2, 1), f"Entraînement : {stage}")
            buffer = buffer[buffer.rfind(b"\r") + 1:] if b"\r" in buffer else buffer[-2000:]
        code = proc.wait()
        log.close()
        if code != 0 or not model.exists():
            tail = (self.folder / "train.log").read_text("utf-8", "replace")[-600:]
            return ("L'entraînement du nouveau modèle a échoué. Les données enregistrées contiennent "
                    "probablement une erreur. Détail technique : " + " ".join(tail.split())[-300:])
        return None

    def check(self) -> Optional[str]:
        from bot.console.quality import evaluate
        questions = Path(self.spec["questions"])
        if not questions.exists():
            return None
        accuracy, failures = evaluate(Path(self.spec["model"]), Path(self.spec["project"]), questions)
        threshold = float(self.spec.get("threshold", 0.95))
        write(self.folder / "check.json", {"accuracy": accuracy, "failures": failures})
        if accuracy < threshold:
            return (f"Le nouveau modèle répond bien à {accuracy:.0%} des questions d'essai; il en faut au moins "
                    f"{threshold:.0%}. Mutu garde le modèle actuel. Questions manquées : "
                    + "; ".join(failures[:5])).replace("%", "\u00a0%")
        return None

    def load(self) -> Optional[str]:
        url, token, model = self.spec["rasa_url"], self.spec.get("token"), self.spec["model"]
        if not token:
            return ("Mutu ne peut pas charger le nouveau modèle : l'accès de la console au serveur Rasa "
                    "(MUTU_API_TOKEN) n'est pas configuré.")
        if self.spec.get("pull"):
            return self.publish_for_pulling()
        request = urllib.request.Request(f"{url}/model?token={token}", method="PUT",
                                         data=json.dumps({"model_file": model}).encode("utf-8"),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=600) as resp:
                if resp.status not in (200, 204):
                    return f"Le serveur de Mutu a refusé le nouveau modèle (code {resp.status})."
            with urllib.request.urlopen(f"{url}/status?token={token}", timeout=30) as resp:
                loaded = json.loads(resp.read()).get("model_file", "")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"Le serveur de Mutu n'a pas pu charger le nouveau modèle ({exc}). Le modèle actuel reste en service."
        if Path(loaded).name != Path(model).name:
            return "Le serveur de Mutu n'a pas pris le nouveau modèle. Le modèle actuel reste en service."
        return None

    def serving(self) -> str:
        """The model file Rasa's server at MUTU_RASA_PORT answers with ("" when it does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.spec['rasa_url']}/status?token={self.spec['token']}",
                                        timeout=30) as resp:
                return Path(json.loads(resp.read()).get("model_file") or "").name
        except (urllib.error.URLError, OSError, ValueError):
            return ""

    def publish_for_pulling(self) -> Optional[str]:
        """Store the model in the database as the published one, then wait until the Rasa server
        has pulled it; if it does not in time, the model published before is published again."""
        from bot.console import shared
        name, path = self.spec["name"], Path(self.spec["model"])
        if not self.spec.get("skip_training"):
            shared.put_model(self.engine, path, name)
        previous = shared.publish_model(self.engine, name)
        wait = 2 * int(self.spec["pull"]) + 180
        deadline = time.monotonic() + wait
        while self.serving() != name:
            if time.monotonic() > deadline:
                if previous:
                    shared.publish_model(self.engine, previous)
                return (f"Le serveur de Mutu n'a pas pris le nouveau modèle en {wait} secondes. "
                        "Le modèle actuel reste en service.")
            time.sleep(1)
        if not self.spec.get("skip_training"):
            path.unlink(missing_ok=True)  # in the database now: no local copy to keep
        return None

    def run(self) -> int:
        threading.Thread(target=self.keep_lease, daemon=True).start()
        if self.spec.get("skip_training"):  # an undo: the previous model, already checked once
            self.status(50, "Chargement du modèle précédent dans Mutu")
            problem = self.load()
            if problem:
                return self.finish(False, problem)
            return self.finish(True, "Publication annulée : Mutu utilise de nouveau le modèle précédent.")
        self.status(3, "Préparation des données")
        trained_at = time.time()
        problem = self.train()
        if problem:
            return self.finish(False, problem)
        train_seconds = round(time.time() - trained_at, 1)
        self.status(82, "Vérification avec les questions d'essai")
        problem = self.check()
        if problem:
            return self.finish(False, problem, train_seconds=train_seconds)
        self.status(94, "Chargement du nouveau modèle dans Mutu")
        loaded_at = time.time()
        problem = self.load()
        if problem:
            return self.finish(False, problem, train_seconds=train_seconds)
        return self.finish(True, "Publié : Mutu utilise maintenant vos changements.", train_seconds=train_seconds,
                           load_seconds=round(time.time() - loaded_at, 1))


def main(argv: list) -> int:
    try:
        job = Job(Path(argv[0]))
    except Exception:  # noqa: BLE001 - no database: the lease expires, a console records the failure
        return 1
    try:
        return job.run()
    except Exception as exc:  # noqa: BLE001 - whatever happens, the coordinator gets a reason
        return job.finish(False, f"La publication a échoué de façon inattendue ({type(exc).__name__}). "
                                 "Le modèle actuel reste en service.")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
