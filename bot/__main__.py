"""Mutu's command line: `python -m bot run|web|...` (see README)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from bot import settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Mutu, l'assistant mutualisation")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the action server, the Rasa server and the widget demo page")
    sub.add_parser("web", help="serve the widget and its demo page only")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        conf = settings.load()
    except settings.SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        from bot.launcher import run
        return run(conf)
    if args.command == "web":
        from bot.web.server import serve
        serve(conf)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
