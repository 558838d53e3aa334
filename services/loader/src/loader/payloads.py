"""Checks on command payloads: a malformed one is the transformer's bug, never worth a retry."""

from __future__ import annotations

from typing import Any

from casebridge.messages import UpsertCommand
from loader.errors import NotSent


def body_part(command: UpsertCommand, name: str, kind: type = dict) -> Any:
    """`payload[name]`, which must be a `kind` (dict or list)."""
    value = command.payload.get(name)
    if not isinstance(value, kind):
        raise NotSent(
            f"{command.target} {command.operation} payload needs a {kind.__name__} '{name}'"
        )
    return value


def key_part(command: UpsertCommand, name: str) -> str:
    """`key[name]`, which must be non-empty."""
    value = command.key.get(name)
    if not value:
        raise NotSent(f"{command.target} {command.operation} key needs '{name}'")
    return value


def unknown_operation(command: UpsertCommand, known: frozenset[str]) -> NotSent:
    """The refusal for an operation this target does not implement."""
    names = ", ".join(sorted(known))
    return NotSent(f"{command.target} has no operation {command.operation!r}; known: {names}")
