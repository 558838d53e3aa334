"""The reference DTP webhook payloads (``shared/reference/samples/progres-*.json``),
shipped as package data so seeding works without the reference tree beside it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson


def _records(name: str) -> list[dict[str, Any]]:
    raw = resources.files("dtp_sim").joinpath(name).read_bytes()
    return [dict(item["record"]) for item in orjson.loads(raw)["records"]]


def reference_referrals() -> list[dict[str, Any]]:
    return _records("reference_referrals.json")


def reference_decisions() -> list[dict[str, Any]]:
    return _records("reference_decisions.json")
