"""The README's "run each service from the workspace" example runs as written on one host."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def operate_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    block = next(b for b in blocks if "uv run fetcher-primero" in b)
    return [line for line in block.splitlines() if " uv run " in f" {line}"]


def test_every_service_of_the_example_has_its_own_health_port() -> None:
    commands = operate_commands()
    services = [re.search(r"uv run (\S+)", c).group(1) for c in commands]  # type: ignore[union-attr]
    assert set(services) >= {"fetcher-primero", "fetcher-oscar", "inbox", "transformer", "loader"}
    ports = [re.search(r"\bHEALTH_PORT=(\d+)\b", c) for c in commands]
    assert all(ports), f"a command runs on the default port 8000: {commands}"
    numbers = [int(p.group(1)) for p in ports if p]
    assert len(set(numbers)) == len(numbers), f"two services share a health port: {numbers}"
