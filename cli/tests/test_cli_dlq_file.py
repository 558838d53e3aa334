"""`casebridge dlq list --file`: local mode's dead letters, read from its JSON-lines file with the
broker listing's columns, filters and --json; no broker, no control store, never a payload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from casebridge import dead_letter_file
from casebridge import headers as h
from casebridge.messages import DeadLetter

CHILD_NAME = "Sokha Chanthavy"


def a_letter(message_id: str, *, flow: str, queue: str, stage: str, error_class: str) -> DeadLetter:
    headers = {
        h.FLOW: flow,
        h.DEAD_QUEUE: queue,
        h.DEAD_STAGE: stage,
        h.DEAD_ERROR_CLASS: error_class,
        h.DEAD_ERROR_MESSAGE: f"{error_class} for {message_id}",
        h.DEAD_ATTEMPTS: 2,
        h.DEAD_FIRST_FAILURE: "2026-01-02T03:04:05+00:00",
        h.DEAD_LAST_FAILURE: "2026-01-02T03:05:05+00:00",
    }
    body = orjson.dumps({"payload": {"name": CHILD_NAME}})
    return DeadLetter.from_message(body, headers, message_id=message_id, correlation_id="corr")


@pytest.fixture
def letters_file(tmp_path: Path) -> Path:
    path = tmp_path / "dead-letters.jsonl"
    with path.open("w", encoding="utf-8") as out:
        dead_letter_file.write(out, a_letter("msg-c1-000001", flow="c1",
                               queue="cb-local.loader.oscar", stage="loader-oscar",
                               error_class="HttpStatusError"))  # fmt: skip
        dead_letter_file.write(out, a_letter("msg-p4-000002", flow="p4",
                               queue="cb-local.transformer", stage="transformer",
                               error_class="MappingGap"))  # fmt: skip
    return path


def casebridge(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed command with no broker or control store in its environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RABBITMQ_URL", "CONTROL_DATABASE_URL", "LOG_LEVEL")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "casebridge_cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_file_holds_metadata_only(letters_file: Path) -> None:
    text = letters_file.read_text(encoding="utf-8")
    assert CHILD_NAME not in text
    assert "body_b64" not in text
    assert len(text.splitlines()) == 2


def test_list_reads_the_file_without_a_broker(letters_file: Path) -> None:
    done = casebridge("dlq", "list", "--file", str(letters_file), "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [d["message_id"] for d in listed] == ["msg-c1-000001", "msg-p4-000002"]
    assert listed[0] == {
        "queue": "cb-local.loader.oscar",
        "stage": "loader-oscar",
        "message_id": "msg-c1-000001",
        "correlation_id": "corr",
        "flow": "c1",
        "error_class": "HttpStatusError",
        "reason": "HttpStatusError for msg-c1-000001",
        "attempts": 2,
        "first_failure": "2026-01-02T03:04:05+00:00",
        "last_failure": "2026-01-02T03:05:05+00:00",
        "replays": 0,
    }

    table = casebridge("dlq", "list", "--file", str(letters_file), "--plain")
    assert table.returncode == 0, table.stderr
    assert "msg-c1-00000" in table.stdout  # the short id show/replay take
    assert "loader-oscar" in table.stdout
    assert "MappingGap for msg-p4-000002" in table.stdout


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--flow", "p4"), ["msg-p4-000002"]),
        (("--queue", "loader.oscar"), ["msg-c1-000001"]),
        (("--queue", "cb-local.transformer.dlq"), ["msg-p4-000002"]),
        (("--error-class", "HttpStatusError"), ["msg-c1-000001"]),
        (("--since", "2030-01-01"), []),
        (("--limit", "1"), ["msg-c1-000001"]),
    ],
)
def test_the_broker_listings_filters_apply(
    letters_file: Path, options: tuple[str, ...], expected: list[str]
) -> None:
    done = casebridge("dlq", "list", "--file", str(letters_file), *options, "--json")
    assert done.returncode == 0, done.stderr
    assert [d["message_id"] for d in json.loads(done.stdout)] == expected


def test_a_missing_or_foreign_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = casebridge("dlq", "list", "--file", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2
    assert "no dead-letter file at" in missing.stderr
    assert "Traceback" not in missing.stderr
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text("not json\n", encoding="utf-8")
    broken = casebridge("dlq", "list", "--file", str(foreign))
    assert broken.returncode == 2
    assert "foreign.jsonl:1: not JSON" in broken.stderr
