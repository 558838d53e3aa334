"""The reference OSCaR feed items (``shared/reference/samples/oscar-clients.json``), shipped
as package data so seeding works in a container without the reference tree beside it."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson


def reference_clients() -> list[dict[str, Any]]:
    raw = resources.files("oscar_sim").joinpath("reference_clients.json").read_bytes()
    records: list[dict[str, Any]] = orjson.loads(raw)["records"]
    return [dict(item["record"]) for item in records]
