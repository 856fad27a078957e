"""`make bench`: our bot and the same data trained with Rasa's default (`rasa init`) config, side
by side on this machine. Writes bench/results.md. Sends traffic to loopback only."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.launcher import is_ready  # noqa: E402
from tests.helpers import matches  # noqa: E402

OUT = ROOT / "bench" / "out"
PEER_CONFIG = ROOT / "bench" / "peer_config.yml"
ACTIONS_PORT, PORTS = 16055, {"ours": 16005, "peer": 16006}
QUESTIONS = yaml.safe_load((ROOT / "tests" / "questions.yml").read_text("utf-8"))
CHITCHAT = ["bonjour", "merci", "allo", "t'es un robot?", "au revoir", "tu peux faire quoi"]
OUT_OF_SCOPE = ["quel temps fait-il demain", "une recette de tourtière", "qui a gagné la partie hier"]
FOLLOW_UPS = [("quelles sont les formes de mutualisation", "et le contrat ?"),
              ("c'est quoi une coop de remplacement agricole", "et Le Relait ?")]
TARGETS = {"seq_p95_ms": 40, "c8_msgs": 60, "c8_p95_ms": 200, "ready_s": 20, "rss_mb": 900, "train_s": 180}


@dataclass
class System:
    name: str
    config: Path
    port: int
    model_dir: Path = field(init=False)
    results: Dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.model_dir = OUT / self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def env(**extra: str) -> Dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2",
             MUTU_HOST="127.0.0.1", MUTU_ACTIONS_PORT=str(ACTIONS_PORT), MUTU_RATE_LIMIT_PER_MINUTE="0")
    e.update(extra)
    return e


def train(system: System) -> float:
    """Fresh training (empty Rasa cache) of our data with ``system.config``; seconds."""
    system.model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "rasa", "train", "--config", str(system.config),
                        "--out", str(system.model_dir), "--fixed-model-name", "mutu"], cwd=ROOT, check=True,
                       env=env(RASA_CACHE_DIRECTORY=cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.monotonic() - start


def start(argv_only: str, extra: Dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--only", argv_only], cwd=ROOT, env=env(**extra),
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait(url: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    start_t = time.monotonic()
    while not is_ready(url):
        if proc.poll() is not None or time.monotonic() - start_t > timeout:
            raise RuntimeError(f"{url} did not start")
        time.sleep(0.2)
    return time.monotonic() - start_t


def descendants(pid: int) -> List[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def ask(url: str, sender: str, text: str) -> Tuple[float, list]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(url + "/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        replies = json.load(resp)
    return (time.perf_counter() - t0) * 1000, replies


def message_plan(n: int, seed: int) -> List[Tuple[str, str]]:
    """(conversation, text) pairs: FAQ, chit-chat, out-of-scope, new conversations, follow-ups."""
    rng = random.Random(seed)
    plan: List[Tuple[str, str]] = []
    open_convs = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    while len(plan) < n:
        kind = rng.random()
        conv = f"bench-{uuid.uuid4().hex[:8]}" if rng.random() < 0.3 else rng.choice(open_convs)
        if kind < 0.6:
            plan.append((conv, rng.choice(QUESTIONS["cases"])[1]))
        elif kind < 0.75:
            plan.append((conv, rng.choice(CHITCHAT)))
        elif kind < 0.85:
            plan.append((conv, rng.choice(OUT_OF_SCOPE)))
        else:
            first, second = rng.choice(FOLLOW_UPS)
            plan += [(conv, first), (conv, second)]
    return plan[:n]


def pct(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sequential(url: str, n: int) -> Dict[str, float]:
    lat = [ask(url, conv, text)[0] for conv, text in message_plan(n, seed=1)]
    return {"seq_p50_ms": statistics.median(lat), "seq_p95_ms": pct(lat, 0.95)}


def concurrent(url: str, clients: int, per_client: int) -> Dict[str, float]:
    lat: List[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        mine = [ask(url, conv, text)[0] for conv, text in message_plan(per_client, seed=100 + n)]
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {f"c{clients}_msgs": len(lat) / wall, f"c{clients}_p95_ms": pct(lat, 0.95)}


def accuracy(url: str) -> float:
    good = 0
    for topic, question in QUESTIONS["cases"]:
        _, replies = ask(url, f"acc-{uuid.uuid4().hex[:8]}", question)
        good += matches(replies, QUESTIONS["topics"][topic])
    return good / len(QUESTIONS["cases"])


def measure(system: System, actions: subprocess.Popen, args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix=f"mutu-bench-{system.name}-"))
    proc = start("rasa", {"MUTU_RASA_PORT": str(system.port), "MUTU_MODEL_DIR": str(system.model_dir),
                          "MUTU_DATA_DIR": str(data)}, OUT / f"{system.name}.log")
    try:
        system.results["ready_s"] = wait(system.url + "/webhooks/rest/", proc)
        system.results["accuracy"] = accuracy(system.url)
        system.results.update(sequential(system.url, args.messages))
        system.results.update(concurrent(system.url, 8, args.per_client))
        system.results.update(concurrent(system.url, 32, max(5, args.per_client // 2)))
        system.results["rss_mb"] = peak_rss_mb(proc.pid) + peak_rss_mb(actions.pid)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)


ROWS = [("train_s", "training time (s)", "{:.0f}"), ("ready_s", "start to ready (s)", "{:.1f}"),
        ("seq_p50_ms", "sequential p50 (ms)", "{:.0f}"), ("seq_p95_ms", "sequential p95 (ms)", "{:.0f}"),
        ("c8_msgs", "8 clients: msg/s", "{:.1f}"), ("c8_p95_ms", "8 clients: p95 (ms)", "{:.0f}"),
        ("c32_msgs", "32 clients: msg/s", "{:.1f}"), ("c32_p95_ms", "32 clients: p95 (ms)", "{:.0f}"),
        ("rss_mb", "peak RSS, Rasa + actions (MB)", "{:.0f}"), ("accuracy", "accuracy, tests/questions.yml", "{:.1%}")]


def report(ours: System, peer: System, args: argparse.Namespace) -> str:
    lines = [f"# Benchmark ({time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
             f"{args.messages} sequential messages, 8 × {args.per_client} and 32 × {max(5, args.per_client // 2)} concurrent)",
             "", "| measure | ours | peer (`rasa init` config) | ours / peer | target |", "|---|---|---|---|---|"]
    for key, label, fmt in ROWS:
        a, b = ours.results.get(key), peer.results.get(key)
        ratio = f"{a / b:.2f}" if a is not None and b else "–"
        target = TARGETS.get(key)
        mark = ""
        if target is not None and a is not None:
            ok = a >= target if key.endswith("msgs") else a <= target
            mark = f"{'≥' if key.endswith('msgs') else '≤'} {target} {'✅' if ok else '❌'}"
        lines.append(f"| {label} | {fmt.format(a) if a is not None else '–'} | "
                     f"{fmt.format(b) if b is not None else '–'} | {ratio} | {mark} |")
    lines += ["", "Ours: `config.yml` (folding tokenizer, DIET and ResponseSelector without transformer "
              "layers, RulePolicy + MemoizationPolicy). Peer: the same data with Rasa 3.6's default "
              "pipeline and policies (`bench/peer_config.yml`, TED and UnexpecTED included). Both use the "
              "same action server and a SQLite tracker store; each message is one REST request."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    systems = [System("ours", ROOT / "config.yml", PORTS["ours"])]
    if not args.skip_peer:
        systems.append(System("peer", PEER_CONFIG, PORTS["peer"]))
    for system in systems:
        print(f"training {system.name}…", flush=True)
        system.results["train_s"] = train(system)
    actions_data = Path(tempfile.mkdtemp(prefix="mutu-bench-actions-"))
    actions = start("actions", {"MUTU_DATA_DIR": str(actions_data)}, OUT / "actions.log")
    try:
        wait(f"http://127.0.0.1:{ACTIONS_PORT}/health", actions)
        for system in systems:
            print(f"measuring {system.name}…", flush=True)
            measure(system, actions, args)
    finally:
        os.killpg(actions.pid, 15)
        actions.wait(30)
    peer = systems[1] if len(systems) > 1 else System("peer", PEER_CONFIG, PORTS["peer"])
    text = report(systems[0], peer, args)
    (ROOT / "bench" / "results.md").write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
