"""Mutu's command line: `python -m bot run|web|worker|inquiries|purge` (see README)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from bot import settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Mutu, l'assistant mutualisation")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the actions, the Rasa server, the worker and the widget demo page")
    run.add_argument("--only", help="comma-separated subset of actions,rasa,web,worker "
                                    "(e.g. --only rasa for one more Rasa server when scaling out)")
    sub.add_parser("web", help="serve the widget and its demo page only")
    sub.add_parser("worker", help="deliver the inquiries waiting in the outbox (runs until stopped)")
    inquiries = sub.add_parser("inquiries", help="look at the inquiries in the outbox")
    isub = inquiries.add_subparsers(dest="action", required=True)
    listing = isub.add_parser("list", help="one line per inquiry, newest first (e-mails redacted)")
    listing.add_argument("--status", choices=["pending", "delivered"])
    isub.add_parser("show", help="one inquiry in full").add_argument("reference")
    isub.add_parser("export", help="all inquiries, oldest first").add_argument(
        "--format", choices=["csv", "json"], default="csv")
    report = sub.add_parser("report", help="the console's figures in the terminal: conversations, answers, "
                                           "topics, feedback and the most missed questions")
    report.add_argument("--days", type=int, default=30)
    sub.add_parser("console-hash", help="print a hash of MUTU_CONSOLE_PASSWORD (or of a password typed) "
                                        "for MUTU_CONSOLE_PASSWORD_HASH")
    purge = sub.add_parser("purge", help="delete inquiries (delivered or not) and conversation events older than the retention (the worker does it too)")
    purge.add_argument("--older-than", default=None, help="e.g. 90d (default: MUTU_RETENTION_DAYS)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        conf = settings.load()
    except settings.SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        from bot.launcher import ALL_SERVICES, run
        only = [name.strip() for name in args.only.split(",")] if args.only else None
        unknown = set(only or []) - set(ALL_SERVICES)
        if unknown:
            print(f"Unknown service(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        return run(conf, only)
    if args.command == "web":
        from bot.web.server import serve
        serve(conf)
        return 0
    if args.command == "report":
        from bot.console.report import report
        return report(conf, sys.stdout, max(1, min(args.days, 365)))
    if args.command == "console-hash":
        import getpass
        from bot.console.auth import hash_password
        password = conf.console_password or getpass.getpass("Mot de passe de la console : ")
        if not password:
            print("Aucun mot de passe.", file=sys.stderr)
            return 2
        print(hash_password(password))
        return 0
    if args.command == "worker":
        from bot.inquiries.worker import run as run_worker
        return run_worker(conf)
    from bot.inquiries import cli
    from bot.inquiries.store import OutboxStore
    if args.command == "purge":
        try:
            return cli.purge(conf, args.older_than or f"{conf.retention_days}d", sys.stdout)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
    store = OutboxStore(conf.inquiry_db)
    if args.action == "list":
        return cli.list_inquiries(store, sys.stdout, args.status)
    if args.action == "show":
        return cli.show_inquiry(store, args.reference, sys.stdout)
    return cli.export_inquiries(store, args.format, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
