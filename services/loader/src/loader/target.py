"""The target plugin interface: one class per system, found by entry point name.

A partner adds a system by writing a `Target`, registering its factory under the
`casebridge.loader_targets` entry point group, and deploying the loader with
`LOADER_TARGET=<name>`. No other service changes.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol

from casebridge.control import ControlStore
from casebridge.errors import CasebridgeError
from casebridge.messages import UpsertCommand

ENTRY_POINT_GROUP = "casebridge.loader_targets"


class Target(Protocol):
    """A system the loader writes to.

    `apply` must be idempotent (redelivery happens), raise `Superseded` when the target holds
    newer data, `TransientError` (with `retry_after` when known) for 5xx/429/timeouts and
    `PermanentError` with the target's error text for a refusal.
    """

    name: str

    async def start(self) -> None:
        """Open sessions and pools."""

    async def apply(self, command: UpsertCommand) -> None:
        """Write one command."""

    async def close(self) -> None:
        """Release sessions and pools."""


class TargetFactory(Protocol):
    """What an entry point names: builds the target, reading its own settings.

    It receives the control store (processed ids, applied versions, lineage), which the
    composition root opens once and closes after the target.
    """

    def __call__(self, store: ControlStore) -> Target: ...


class UnknownTarget(CasebridgeError):
    """LOADER_TARGET names no installed target plugin."""


def available_targets() -> list[str]:
    """Names of the installed target plugins."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def find_target(name: str) -> TargetFactory:
    """The factory registered under `name` (checked before anything is opened)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            factory: TargetFactory = ep.load()
            return factory
    raise UnknownTarget(
        f"LOADER_TARGET={name!r} is not an installed target;"
        f" available: {', '.join(available_targets()) or 'none yet'}"
    )
