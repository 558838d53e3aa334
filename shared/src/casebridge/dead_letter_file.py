"""Dead letters' metadata as JSON lines: what local mode keeps of its run's dead letters.

Local mode's in-process queues vanish when the run ends; this file is what an admin can still
read (`casebridge dlq list --file`). One line per dead letter, the same fields `dlq list` shows
(identifiers, stage, reason, counts); never the body, so never child data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from casebridge.messages import DeadLetter


def metadata(letter: DeadLetter) -> dict[str, Any]:
    """Identifiers, reason and counts of a dead letter; never its payload."""
    return {
        "queue": letter.queue,
        "stage": letter.stage,
        "message_id": letter.message_id,
        "correlation_id": letter.correlation_id,
        "flow": letter.flow,
        "error_class": letter.error_class,
        "reason": letter.error_message,
        "attempts": letter.attempts,
        "first_failure": _iso(letter.first_failure_at),
        "last_failure": _iso(letter.last_failure_at),
        "replays": letter.replay_count,
    }


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def write(out: TextIO, letter: DeadLetter) -> None:
    """Append one dead letter's metadata as a line (flushed: a crash keeps what was written)."""
    out.write(orjson.dumps(metadata(letter)).decode() + "\n")
    out.flush()


class UnreadableLine(ValueError):
    """A line of the file is not a JSON object: the file is not one this module wrote."""


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The metadata records of `path`, in the order they were written (blank lines skipped)."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise UnreadableLine(f"{path}:{number}: not JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise UnreadableLine(f"{path}:{number}: not a JSON object")
            yield record
