"""`make bench`: our bot and the same data trained with Rasa's default (`rasa init`) config, side
by side on this machine, then ours on the scale profile (PostgreSQL + Redis) with one and two Rasa
servers. Writes bench/results.md. Sends traffic to loopback only.

The peer is stock Rasa: its config (bench/peer_config.yml), Rasa's own SQL tracker store
(MUTU_TRACKER_WINDOW=0) and TensorFlow's default threads (MUTU_TF_THREADS=0); both use the same
action server, domain, data and REST channel."""
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
from tests import long_conversation  # noqa: E402
from tests.helpers import matches  # noqa: E402
from tests.services import ServiceError, postgres_server, redis_server  # noqa: E402

OUT = ROOT / "bench" / "out"
PEER_CONFIG = ROOT / "bench" / "peer_config.yml"
ACTIONS_PORT, PORTS = 16055, {"ours": 16005, "peer": 16006}
SCALE_PORTS, PG_PORT, REDIS_PORT = (16105, 16106), 16432, 16380
QUESTIONS = yaml.safe_load((ROOT / "tests" / "questions.yml").read_text("utf-8"))
CHITCHAT = ["bonjour", "merci", "allo", "t'es un robot?", "au revoir", "tu peux faire quoi"]
OUT_OF_SCOPE = ["quel temps fait-il demain", "une recette de tourtière", "qui a gagné la partie hier"]
FOLLOW_UPS = [("quelles sont les formes de mutualisation", "et le contrat ?"),
              ("c'est quoi une coop de remplacement agricole", "et Le Relait ?")]
# Targets of issue 11: ratios to the peer measured in the same run, and one absolute (memory).
RATIO_TARGETS = {"c8_msgs": (">=", 2.2), "c8_p95_ms": ("<=", 0.75)}
OURS_TARGETS = {"rss_mb": ("<=", 900.0), "long_growth": ("<=", 1.10)}


@dataclass
class System:
    name: str
    config: Path
    port: int
    env: Dict[str, str] = field(default_factory=dict)
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


def train(system: System, reuse: bool) -> float:
    """Fresh training (empty Rasa cache) of our data with ``system.config``; seconds. With
    ``reuse``, a model trained by an earlier run is kept, with the time measured then."""
    system.model_dir.mkdir(parents=True, exist_ok=True)
    record = system.model_dir / "train.json"
    if reuse and (system.model_dir / "mutu.tar.gz").exists() and record.exists():
        return float(json.loads(record.read_text())["train_s"])
    with tempfile.TemporaryDirectory() as cache:
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "rasa", "train", "--config", str(system.config),
                        "--out", str(system.model_dir), "--fixed-model-name", "mutu"], cwd=ROOT, check=True,
                       env=env(RASA_CACHE_DIRECTORY=cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.monotonic() - start
    record.write_text(json.dumps({"train_s": seconds}))
    return seconds


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


def concurrent(urls: List[str], clients: int, per_client: int) -> Dict[str, float]:
    """``clients`` threads, each sending its messages one after another; requests are spread
    over ``urls`` in turn (what a load balancer does)."""
    lat: List[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        plan = message_plan(per_client, seed=100 + n)
        mine = [ask(urls[(n + i) % len(urls)], conv, text)[0] for i, (conv, text) in enumerate(plan)]
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


def long_conversation_run(url: str, messages: int) -> Dict[str, float]:
    """Median latency at messages 1-20 and at the last 20 of one conversation of ``messages``."""
    run = long_conversation.play(url, messages)
    head, tail = run.median_ms(1, 20), run.median_ms(messages - 19, messages)
    return {"long_head_ms": head, "long_tail_ms": tail, "long_growth": tail / head,
            "long_ok": run.accuracy(1, messages)}


def measure(system: System, actions: subprocess.Popen, args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix=f"mutu-bench-{system.name}-"))
    proc = start("rasa", {"MUTU_RASA_PORT": str(system.port), "MUTU_MODEL_DIR": str(system.model_dir),
                          "MUTU_DATA_DIR": str(data), **system.env}, OUT / f"{system.name}.log")
    try:
        system.results["ready_s"] = wait(system.url + "/webhooks/rest/", proc)
        system.results["accuracy"] = accuracy(system.url)
        system.results.update(sequential(system.url, args.messages))
        system.results.update(concurrent([system.url], 8, args.per_client))
        system.results.update(concurrent([system.url], 32, max(5, args.per_client // 2)))
        if args.long:
            system.results.update(long_conversation_run(system.url, args.long))
        system.results["rss_mb"] = peak_rss_mb(proc.pid) + peak_rss_mb(actions.pid)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)


def cpu_seconds(pids: List[int], children: bool = True) -> float:
    """User + system CPU time of these processes (and their children) (Linux /proc)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in {p for root in pids for p in (descendants(root) if children else [root])}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def processes_named(name: str) -> List[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() == name:
                found.append(int(stat.parent.name))
        except OSError:
            pass
    return found


def part_cpu(servers: List[subprocess.Popen], actions: subprocess.Popen) -> Dict[str, float]:
    """CPU seconds used so far by the Rasa servers, the action server, and PostgreSQL + Redis
    (each of their processes alone: PostgreSQL's backends are children of its main process)."""
    stores = processes_named("postgres") + processes_named("redis-server")
    return {"rasa": cpu_seconds([s.pid for s in servers]), "actions": cpu_seconds([actions.pid]),
            "stores": cpu_seconds(stores, children=False)}


@dataclass
class ScaleResult:
    servers: int
    msgs: float
    p95_ms: float
    cpu_ms: Dict[str, float]  # CPU per message: rasa, actions, stores


def scale_profile(model_dir: Path, args: argparse.Namespace) -> List[ScaleResult]:
    """Ours on the scale profile (PostgreSQL tracker store, Redis lock store, one action server):
    8 clients on one Rasa server, then on two; CPU per message of each part."""
    results: List[ScaleResult] = []
    data = Path(tempfile.mkdtemp(prefix="mutu-bench-scale-"))
    procs: List[subprocess.Popen] = []
    try:
        with postgres_server(PG_PORT) as pg, redis_server(REDIS_PORT) as redis:
            base = {"MUTU_STORE_PROFILE": "scale", "MUTU_DATA_DIR": str(data), "MUTU_MODEL_DIR": str(model_dir),
                    "MUTU_ACTIONS_PORT": str(ACTIONS_PORT + 1), **pg, **redis}
            actions = start("actions", base, OUT / "scale-actions.log")
            procs.append(actions)
            wait(f"http://127.0.0.1:{ACTIONS_PORT + 1}/health", actions)
            servers: List[subprocess.Popen] = []
            for n, port in enumerate(SCALE_PORTS):
                server = start("rasa", {**base, "MUTU_RASA_PORT": str(port)}, OUT / f"scale-rasa{n}.log")
                procs.append(server)
                servers.append(server)
                wait(f"http://127.0.0.1:{port}/webhooks/rest/", server)
                urls = [f"http://127.0.0.1:{p}" for p in SCALE_PORTS[:n + 1]]
                concurrent(urls, 2, 5)  # warm-up: first messages load TensorFlow's functions
                before = part_cpu(servers, actions)
                measured = concurrent(urls, 8, args.per_client)
                after = part_cpu(servers, actions)
                cpu = {k: 1000 * (after[k] - before[k]) / (8 * args.per_client) for k in after}
                results.append(ScaleResult(n + 1, measured["c8_msgs"], measured["c8_p95_ms"], cpu))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)
    return results


ROWS = [("train_s", "training time (s)", "{:.0f}"), ("ready_s", "start to ready (s)", "{:.1f}"),
        ("seq_p50_ms", "sequential p50 (ms)", "{:.0f}"), ("seq_p95_ms", "sequential p95 (ms)", "{:.0f}"),
        ("c8_msgs", "8 clients: msg/s", "{:.1f}"), ("c8_p95_ms", "8 clients: p95 (ms)", "{:.0f}"),
        ("c32_msgs", "32 clients: msg/s", "{:.1f}"), ("c32_p95_ms", "32 clients: p95 (ms)", "{:.0f}"),
        ("long_head_ms", "long conversation: median, messages 1–20 (ms)", "{:.0f}"),
        ("long_tail_ms", "long conversation: median, last 20 messages (ms)", "{:.0f}"),
        ("long_growth", "long conversation: last 20 / first 20", "{:.2f}"),
        ("long_ok", "long conversation: expected answers", "{:.1%}"),
        ("rss_mb", "peak RSS, Rasa + actions (MB)", "{:.0f}"), ("accuracy", "accuracy, tests/questions.yml", "{:.1%}")]


def _target(key: str, ours: Optional[float], ratio: Optional[float]) -> str:
    for table, value, unit in ((RATIO_TARGETS, ratio, "× peer"), (OURS_TARGETS, ours, "")):
        if key in table and value is not None:
            op, limit = table[key]
            ok = value >= limit if op == ">=" else value <= limit
            return f"{'≥' if op == '>=' else '≤'} {limit:g}{unit} {'✅' if ok else '❌'}"
    return ""


def scale_lines(results: List[ScaleResult], args: argparse.Namespace) -> List[str]:
    if not results:
        return []
    cores = os.cpu_count() or 1
    lines = ["", f"## Scale profile (ours: PostgreSQL tracker store, Redis lock store, one action server; "
                 f"8 clients × {args.per_client} messages spread over the Rasa servers)", "",
             "| Rasa servers | msg/s | p95 (ms) | CPU ms per message: Rasa | actions | PostgreSQL + Redis |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.servers} | {r.msgs:.1f} | {r.p95_ms:.0f} | {r.cpu_ms['rasa']:.1f} | "
                     f"{r.cpu_ms['actions']:.1f} | {r.cpu_ms['stores']:.1f} |")
    one = results[0]
    total = sum(one.cpu_ms.values())
    lines += ["", f"A Rasa server answers on one event loop, so it uses one core at most: on this machine ({cores} "
                  f"cores) a second server brings the other core ({results[-1].msgs / one.msgs:.2f}× the messages/s "
                  f"with {results[-1].servers}). CPU per message, all parts together: {total:.1f} ms, so these {cores} "
                  f"cores serve at most ~{1000 * cores / total:.0f} msg/s. A second machine of {cores} cores running "
                  f"Rasa servers only ({one.cpu_ms['rasa']:.1f} ms per message) would add ~{1000 * cores / one.cpu_ms['rasa']:.0f} "
                  f"msg/s; the first, left with the action server and the stores "
                  f"({one.cpu_ms['actions'] + one.cpu_ms['stores']:.1f} ms per message) and its own Rasa servers, would "
                  "then be the limit only far beyond that (CPU only, network not counted)."]
    return lines


def report(ours: System, peer: System, args: argparse.Namespace, scale: List[ScaleResult]) -> str:
    lines = [f"# Benchmark ({time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
             f"{args.messages} sequential messages, 8 × {args.per_client} and 32 × {max(5, args.per_client // 2)} "
             f"concurrent, one conversation of {args.long} messages)",
             "", "| measure | ours | peer (`rasa init` config) | ours / peer | target |", "|---|---|---|---|---|"]
    for key, label, fmt in ROWS:
        a, b = ours.results.get(key), peer.results.get(key)
        ratio = a / b if a is not None and b else None
        lines.append(f"| {label} | {fmt.format(a) if a is not None else '–'} | "
                     f"{fmt.format(b) if b is not None else '–'} | {f'{ratio:.2f}' if ratio is not None else '–'} | "
                     f"{_target(key, a, ratio)} |")
    lines += ["", "Ours: `config.yml` (folding tokenizer, DIET and ResponseSelector without transformer "
              "layers, RulePolicy + MemoizationPolicy) and the windowed SQL tracker store "
              "(`bot/tracker_store.py`). Peer: the same data with Rasa 3.6's default pipeline and policies "
              "(`bench/peer_config.yml`, TED and UnexpecTED included) and Rasa's own SQL tracker store. "
              "Both on SQLite, with the same action server; each message is one REST request. The long "
              "conversation repeats tests/long_conversation.py's cycle (questions, follow-ups, the form)."]
    lines += scale_lines(scale, args)
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--long", type=int, default=500, help="messages of the long conversation (0: none)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--reuse-models", action="store_true", help="keep models trained by an earlier run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    systems = [System("ours", ROOT / "config.yml", PORTS["ours"])]
    if not args.skip_peer:
        systems.append(System("peer", PEER_CONFIG, PORTS["peer"], {"MUTU_TRACKER_WINDOW": "0", "MUTU_TF_THREADS": "0"}))
    for system in systems:
        print(f"training {system.name}…", flush=True)
        system.results["train_s"] = train(system, args.reuse_models)
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
    scale: List[ScaleResult] = []
    if not args.skip_scale:
        print("measuring the scale profile…", flush=True)
        try:
            scale = scale_profile(systems[0].model_dir, args)
        except ServiceError as exc:
            print(f"scale profile skipped: {exc}", file=sys.stderr)
    peer = systems[1] if len(systems) > 1 else System("peer", PEER_CONFIG, PORTS["peer"])
    text = report(systems[0], peer, args, scale)
    (ROOT / "bench" / "results.md").write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
