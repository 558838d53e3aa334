"""`casebridge transform`: a dry run of a flow's mapping over records saved from a source API.

Reads a JSON array of records exactly as the source returned them, prints the commands the
transformer would publish (stdout, JSON) and each rejected record with its reason (stderr).
Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from casebridge.messages import RawRecord, SourceRef, UpsertCommand
from casebridge.skips import Skipped
from transformer.cambodia import (
    CambodiaTables,
    MappingTableError,
    load_tables,
    map_c0,
    map_c1,
    map_c2,
)
from transformer.mapping_gap import MappingGap, PartlyMapped
from transformer.ona import load_ona_tables, map_o1
from transformer.progres import load_progres_tables, map_p1, map_p2, map_p3, map_p4
from transformer.shapes import MalformedRecord, check_shape

PRODUCER = "casebridge-cli"


@dataclass(frozen=True)
class Flow:
    """A flow's mapper and how its source records identify themselves."""

    mapper: Callable[[RawRecord, CambodiaTables], Sequence[UpsertCommand]]
    system: str
    record_type: str
    id_fields: tuple[str, ...]
    updated_field: str | None


FLOWS: Mapping[str, Flow] = {
    "c0": Flow(map_c0, "oscar", "client", ("global_id",), None),
    "c1": Flow(map_c1, "primero", "case", ("id", "case_id"), "last_updated_at"),
    "c2": Flow(map_c2, "oscar", "client", ("global_id",), None),
    # The ONA tables replace the Cambodia ones in `run` (they load from the same --mapping-dir).
    "o1": Flow(lambda raw, _: [], "primero", "case", ("id", "case_id"), "last_updated_at"),
    # The proGres tables replace the Cambodia ones in `run` too. P1/P4 files hold DTP webhook
    # bodies; P2/P3 files hold Primero cases (P3: each with `referrals` and the owner's `user`).
    "p1": Flow(lambda raw, _: [], "dtp", "referral", (), None),
    "p2": Flow(lambda raw, _: [], "primero", "case", ("id", "case_id"), "last_updated_at"),
    "p3": Flow(lambda raw, _: [], "primero", "case", ("id", "case_id"), "last_updated_at"),
    "p4": Flow(lambda raw, _: [], "dtp", "decision", (), None),
}
PROGRES_MAPPERS = {"p1": map_p1, "p2": map_p2, "p3": map_p3, "p4": map_p4}


def register(commands: Any) -> None:
    """Add the `transform` subcommand to the command tree."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "transform",
        help="dry-run a flow's mapping over a JSON array of source records",
        description=__doc__,
    )
    parser.add_argument("--flow", required=True, choices=sorted(FLOWS), help="the flow to map")
    parser.add_argument(
        "--mapping-dir",
        type=Path,
        default=None,
        help="directory whose mapping files replace the packaged ones (as MAPPING_DIR does)",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="JSON array of source records")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """0 when the file was mapped (rejections included), 1 when it could not be read."""
    records = _read_records(args.file)
    if records is None:
        return 1
    try:
        tables = load_tables(args.mapping_dir)
    except MappingTableError as exc:
        print(f"casebridge transform: {exc}", file=sys.stderr)
        return 1
    for warning in tables.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    flow = FLOWS[args.flow]
    if args.flow == "o1":
        try:
            ona = load_ona_tables(args.mapping_dir)
        except MappingTableError as exc:
            print(f"casebridge transform: {exc}", file=sys.stderr)
            return 1
        flow = replace(flow, mapper=lambda raw, _: map_o1(raw, ona))
    if args.flow in PROGRES_MAPPERS:
        try:
            progres = load_progres_tables(args.mapping_dir)
        except MappingTableError as exc:
            print(f"casebridge transform: {exc}", file=sys.stderr)
            return 1
        mapper = PROGRES_MAPPERS[args.flow]
        flow = replace(flow, mapper=lambda raw, _: mapper(raw, progres))
    output: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        output.extend(_map_one(args.flow, flow, tables, index, record))
    json.dump(output, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _read_records(path: Path) -> list[Any] | None:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"casebridge transform: cannot read {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(document, list):
        print(f"casebridge transform: {path} is not a JSON array of records", file=sys.stderr)
        return None
    return document


def _map_one(
    name: str, flow: Flow, tables: CambodiaTables, index: int, record: Any
) -> list[dict[str, Any]]:
    """The command views of one record; a rejection is reported on stderr instead."""
    if not isinstance(record, dict):
        _reject(f"#{index}", "not a JSON object")
        return []
    record_id = next((str(record[f]) for f in flow.id_fields if record.get(f)), f"#{index}")
    try:
        raw = RawRecord.of(
            flow=name,
            source=SourceRef(
                system=flow.system,
                record_type=flow.record_type,
                record_id=record_id,
                updated_at=record.get(flow.updated_field) if flow.updated_field else None,
            ),
            payload=record,
            producer=PRODUCER,
        )
    except ValidationError:
        _reject(record_id, f"{flow.updated_field} is not a timestamp")
        return []
    try:
        check_shape(raw)
        commands = flow.mapper(raw, tables)
    except MalformedRecord as bad:
        _reject(record_id, str(bad))
        return []
    except PartlyMapped as gap:  # the service sends the mapped parts and dead-letters the rest
        _reject(record_id, f"{gap} (its other {len(gap.commands)} command(s) are sent)")
        commands = list(gap.commands)
    except MappingGap as gap:
        _reject(record_id, str(gap))
        return []
    except Exception as exc:  # a mapper bug: report the class only, messages may quote data
        _reject(record_id, f"mapping failed with {type(exc).__name__} (a bug; please report it)")
        return []
    if isinstance(commands, Skipped):
        print(f"skipped {record_id}: {commands.reason.value}: {commands.detail}", file=sys.stderr)
    return [_view(command) for command in commands]


def _view(command: UpsertCommand) -> dict[str, Any]:
    return {
        "target": command.target,
        "operation": command.operation,
        "key": command.key,
        "payload": command.payload,
    }


def _reject(record_id: str, reason: str) -> None:
    print(f"record {record_id}: {reason}", file=sys.stderr)
