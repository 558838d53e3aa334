"""Runs `../shared/ceiling/run` beside a benchmark, so ratios compare runs of the same moment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CEILING = ROOT.parent / "shared" / "ceiling" / "run"


def measure(kind: str, records: int) -> dict[str, float]:
    """The ceiling's JSON figures for `kind` (hop, pg, http, naive); raises if it cannot run."""
    if not CEILING.exists():
        raise SystemExit(f"ceiling not found at {CEILING}: put ../shared beside the project root")
    out = subprocess.run(
        [str(CEILING), kind, str(records)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    last = [line for line in out.splitlines() if line.strip()][-1]
    figures: dict[str, float] = json.loads(last)
    return figures
