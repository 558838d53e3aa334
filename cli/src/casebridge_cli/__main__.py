"""Entry point of the `casebridge` admin command: one subcommand per admin task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from casebridge_cli import cursor, dlq, fetch, mappings, status, transform


def build_parser() -> argparse.ArgumentParser:
    """The command tree; each subcommand module adds its own parser and handler."""
    parser = argparse.ArgumentParser(
        prog="casebridge", description="casebridge administration commands."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dlq.register(commands)
    status.register(commands)
    cursor.register(commands)
    fetch.register(commands)
    mappings.register(commands)
    transform.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse, run the chosen subcommand, exit with its status."""
    args = build_parser().parse_args(argv)
    sys.exit(args.handler(args))


if __name__ == "__main__":
    main()
