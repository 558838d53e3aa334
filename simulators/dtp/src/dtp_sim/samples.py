"""The reference DTP webhook payloads (``shared/reference/samples/progres-*.json``),
shipped as package data so seeding works without the reference tree beside it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson


def _records(name: str) -> list[dict[str, Any]]:
    raw = resources.files("dtp_sim").joinpath(name).read_bytes()
    return [_webhook_body(item["record"]) for item in orjson.loads(raw)["records"]]


def _webhook_body(record: dict[str, Any]) -> dict[str, Any]:
    """One fixture is captured as OpenFn state (``{"data": body}``); DTP sends the body."""
    if set(record) == {"data"} and isinstance(record["data"], dict):
        return dict(record["data"])
    return dict(record)


def reference_referrals() -> list[dict[str, Any]]:
    return _records("reference_referrals.json")


def reference_decisions() -> list[dict[str, Any]]:
    return _records("reference_decisions.json")
