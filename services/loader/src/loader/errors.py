"""Failures specific to the loader."""

from __future__ import annotations

from casebridge.errors import PermanentError, TransientError


class DependencyPending(TransientError):
    """The command needs an earlier command's effect that is not there yet (e.g. a status fill
    before its case exists): retry later, but the target answered, so the circuit stays closed."""


class NotSent(PermanentError):
    """Refused by the loader itself before any request left (a malformed payload, an upsert
    OSCaR would answer without creating anything): the target holds nothing of it, so a
    once-only write's intent is dropped and a replay after the fix is sent as usual."""
