"""`casebridge mappings check [--mapping-dir D]`: load every flow's tables the way the transformer
does at start-up (packaged tables, files in the mapping dir replacing them) and report each."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casebridge_cli import admin
from transformer.cambodia import load_tables
from transformer.ona import load_ona_tables
from transformer.progres import load_progres_tables

#: Table sets and the flows that read them.
TABLE_SETS: dict[str, tuple[str, Callable[[Path | None], Any]]] = {
    "cambodia": ("c0, c1, c2", load_tables),
    "ona": ("o1", load_ona_tables),
    "progres": ("p1, p2, p3, p4", load_progres_tables),
}


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "mappings", help="check the mapping tables", description=__doc__
    )
    sub = parser.add_subparsers(dest="mappings_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="load every flow's tables; report OK or the error")
    check.add_argument(
        "--mapping-dir",
        type=Path,
        default=None,
        help="directory whose files replace the packaged tables (as MAPPING_DIR does)",
    )
    fmt = check.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--plain", action="store_true", help="print tab-separated text")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    rows = []
    failed = False
    for name, (flows, load) in TABLE_SETS.items():
        try:
            tables = load(args.mapping_dir)
        except Exception as exc:  # any error at start-up stops the transformer: report it
            failed = True
            rows.append({"tables": name, "flows": flows, "status": "ERROR", "detail": str(exc)})
            continue
        warnings = list(getattr(tables, "warnings", ()) or ())
        rows.append({"tables": name, "flows": flows, "status": "OK", "detail": "; ".join(warnings)})
    columns = ("tables", "flows", "status", "detail")
    admin.emit(args, columns, [[r[c] for c in columns] for r in rows], records=rows)
    return 1 if failed else 0
