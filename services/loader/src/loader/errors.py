"""Failures specific to the loader."""

from __future__ import annotations

from casebridge.errors import TransientError


class DependencyPending(TransientError):
    """The command needs an earlier command's effect that is not there yet (e.g. a status fill
    before its case exists): retry later, but the target answered, so the circuit stays closed."""
