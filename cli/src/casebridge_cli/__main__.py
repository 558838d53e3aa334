"""Entry point of the `casebridge` admin command: one subcommand per admin task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from casebridge.startup import debug_wanted, run_main
from casebridge_cli import audit, cursor, dlq, fetch, mappings, status, transform

#: The environment each command reads (also as `<NAME>_FILE`, a file holding the value).
BROKER = ("RABBITMQ_URL", "TOPOLOGY_PREFIX", "CASEBRIDGE_TARGETS")
STORE = ("CONTROL_DATABASE_URL",)
ACTOR = ("CASEBRIDGE_ACTOR",)
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "dlq": BROKER + STORE + ACTOR,
    "status": (*BROKER, "RABBITMQ_MANAGEMENT_URL", *STORE, *ACTOR),
    "cursor": STORE + ACTOR,
    "fetch": STORE + ACTOR,
    "audit": STORE,
    "mappings": ("MAPPING_DIR",),
    "transform": ("MAPPING_DIR",),
}
COMMON = ("LOG_LEVEL",)


def _version() -> str:
    try:
        return version("casebridge-cli")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The command tree; each subcommand module adds its own parser and handler."""
    parser = argparse.ArgumentParser(
        prog="casebridge",
        description="casebridge administration commands.",
        epilog=_environment_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"casebridge {_version()}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a failure (also LOG_LEVEL=DEBUG)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dlq.register(commands)
    status.register(commands)
    cursor.register(commands)
    fetch.register(commands)
    audit.register(commands)
    mappings.register(commands)
    transform.register(commands)
    for name, sub in commands.choices.items():
        reads = ENVIRONMENT.get(name, ())
        sub.epilog = "environment: " + ", ".join(reads + COMMON) if reads else None
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _environment_help() -> str:
    lines = ["environment each command reads (any NAME also as NAME_FILE):"]
    lines += [f"  {name:<9} {', '.join(reads)}" for name, reads in ENVIRONMENT.items()]
    lines.append(
        "exit status: 0 done; 1 refused; 2 configuration or usage wrong; 3 broker, control"
        " store or service unreachable"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse, run the chosen subcommand, exit with its status (one line per expected failure)."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words or debug_wanted([])
    # Anywhere on the line, not only before the subcommand.
    args = build_parser().parse_args([w for w in words if w != "--debug"])
    run_main("casebridge", lambda: args.handler(args), debug=debug)


if __name__ == "__main__":
    main()
