"""`make profile`: where the Rasa server's time goes. Starts our Rasa server and action server
(loopback, their own ports and data), samples the Rasa server with py-spy while it answers the
long conversation of tests/long_conversation.py and 8 concurrent clients, and writes the top
entries (inclusive and own time) to bench/profile.md. The raw samples stay in bench/out/."""
from __future__ import annotations

import argparse
import collections
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Counter, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import OUT, concurrent, descendants, start, wait  # noqa: E402
from tests import long_conversation  # noqa: E402

RASA_PORT, ACTIONS_PORT = 16305, 16355
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:)]*)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file path below site-packages)``."""
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file").split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{match.group('func')} ({path})"


def top_entries(raw: Path, count: int) -> Tuple[int, List[Tuple[str, float]], List[Tuple[str, float]]]:
    """(samples, [(frame, % inclusive)], [(frame, % own)]) from py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = collections.Counter()
    own: Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        total += int(n)
        for name in set(frames):
            inclusive[name] += int(n)
        own[frames[-1]] += int(n)
    if not total:
        raise RuntimeError(f"py-spy wrote no sample to {raw}")
    spine = {name for name, n in inclusive.items() if n >= 0.97 * total}  # in (nearly) every sample
    as_pct = lambda c: [(name, 100.0 * n / total) for name, n in c.most_common()  # noqa: E731
                        if name not in spine][:count]
    return total, as_pct(inclusive), as_pct(own)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--long", type=int, default=300, help="messages of the long conversation")
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    args = parser.parse_args()
    if not shutil.which("py-spy", path=str(Path(sys.executable).parent)):
        print("py-spy is missing from the virtual environment: run `make venv`", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="mutu-profile-"))
    base = {"MUTU_DATA_DIR": str(data), "MUTU_RASA_PORT": str(RASA_PORT), "MUTU_ACTIONS_PORT": str(ACTIONS_PORT)}
    actions = start("actions", base, OUT / "profile-actions.log")
    rasa = start("rasa", base, OUT / "profile-rasa.log")
    raw = OUT / "profile.raw"
    try:
        wait(f"http://127.0.0.1:{ACTIONS_PORT}/health", actions)
        wait(f"http://127.0.0.1:{RASA_PORT}/webhooks/rest/", rasa)
        url = f"http://127.0.0.1:{RASA_PORT}"
        concurrent([url], 2, 5)  # warm-up
        server = next(p for p in descendants(rasa.pid)  # the Rasa process under the launcher
                      if p != rasa.pid and "rasa" in Path(f"/proc/{p}/cmdline").read_text())
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server), "-f", "raw",
                                "-r", str(args.rate), "-o", str(raw)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
        time.sleep(1)
        began = time.monotonic()
        run = long_conversation.play(url, args.long)
        load = concurrent([url], 8, args.per_client)
        seconds = time.monotonic() - began
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    finally:
        for proc in (rasa, actions):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (rasa, actions):
            proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)
    total, inclusive, own = top_entries(raw, args.top)
    lines = [f"# Profile of the Rasa server ({time.strftime('%Y-%m-%d %H:%M')} UTC)", "",
             f"py-spy at {args.rate} Hz over {seconds:.0f} s: one conversation of {args.long} messages "
             f"(median {run.median_ms(1, 20):.0f} ms at messages 1–20, {run.median_ms(args.long - 19, args.long):.0f} ms "
             f"at the last 20), then 8 clients × {args.per_client} messages ({load['c8_msgs']:.1f} msg/s). "
             f"{total} samples of the server's busy time.", "",
             "Frames present in nearly every sample (the server's loop, the request handler) are left out.", "",
             "| inclusive | function (file) |", "|---|---|"]
    lines += [f"| {pct:.1f} % | `{name}` |" for name, pct in inclusive]
    lines += ["", "| own time | function (file) |", "|---|---|"]
    lines += [f"| {pct:.1f} % | `{name}` |" for name, pct in own]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "profile.md").write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
