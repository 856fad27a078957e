"""`python -m bot inquiries list|show|export` and `python -m bot purge --older-than 90d` (the
retention pass the worker also runs by itself, see `bot.retention`)."""
from __future__ import annotations

import csv
import json
import re
import sys
from typing import IO, List, Optional

from bot.inquiries.delivery import redact_email
from bot.inquiries.store import Inquiry, OutboxStore, iso
from bot.retention import run_pass
from bot.settings import Settings

EXPORT_FIELDS = ["reference", "created_at", "name", "email", "organisation", "question", "status", "delivered_at"]


def parse_age(text: str) -> float:
    """'90d', '12h', '30m' or a number of days → seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhm]?)\s*", text or "")
    if not match:
        raise ValueError(f"invalid age {text!r}: use e.g. 90d, 12h or 30m")
    return int(match.group(1)) * {"d": 86400, "h": 3600, "m": 60, "": 86400}[match.group(2)]


def list_inquiries(store: OutboxStore, out: IO[str], status: Optional[str] = None) -> int:
    rows = store.list(status)
    if not rows:
        print("Aucune demande / no inquiries.", file=out)
        return 0
    for inq in rows:
        state = inq.status if inq.status == "delivered" else f"{inq.status} (attempts {inq.attempts})"
        print(f"{inq.reference}  {iso(inq.created_at)}  {state:<24} {redact_email(inq.email)}", file=out)
    return 0


def show_inquiry(store: OutboxStore, reference: str, out: IO[str]) -> int:
    inq = store.get(reference)
    if inq is None:
        print(f"No inquiry {reference}", file=sys.stderr)
        return 1
    data = inq.as_dict()
    data.update({"attempts": inq.attempts, "channels_done": sorted(inq.done_channels), "last_error": inq.last_error})
    print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
    return 0


def export_inquiries(store: OutboxStore, fmt: str, out: IO[str]) -> int:
    rows: List[Inquiry] = list(reversed(store.list(limit=1_000_000)))
    if fmt == "json":
        json.dump([r.as_dict() for r in rows], out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_dict())
    return 0


def purge(conf: Settings, older_than: str, out: IO[str], now: Optional[float] = None) -> int:
    """Delete, in every store, what is older than ``older_than``: conversation events (the
    tracker store of the profile, SQLite or PostgreSQL) and inquiries, delivered or not."""
    report = run_pass(conf, parse_age(older_than), now)
    print(f"purged {report.summary(older_than)}", file=out)
    return 0
