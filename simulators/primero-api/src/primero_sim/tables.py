"""Reference table data shipped with the package (copied verbatim as JSON)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """Read ``data/<name>.json`` once; nothing is read at import time."""
    text = resources.files("primero_sim").joinpath("data", f"{name}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
