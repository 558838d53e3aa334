"""Fault injection per route, one API for every simulator: latency, 5xx, 429, drops, token expiry.

A fault is one ``kind`` matched on a method (``*`` for any) and a shell-style path glob
(``/api/v2/cases/*/referrals``; a trailing ``/`` is ignored on both sides). It fires with a
``probability`` drawn from a seeded RNG, so ``1`` is deterministic and fractions are
reproducible for a seed. ``times`` bounds how often it fires, then it retires itself (what
retry tests need). Every matching ``latency`` fault adds its delay; the first other kind that
fires decides the answer. The same spec works on the OSCaR, DTP and Primero simulators; what
differs between them (the body of an injected error, what expiring a token means) is theirs.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

Kind = Literal["latency", "error", "throttle", "drop", "expire_token"]
KINDS: tuple[Kind, ...] = ("latency", "error", "throttle", "drop", "expire_token")
#: 422: a target refusing a write (a permanent failure the loader dead-letters).
ERROR_STATUSES = (422, 500, 502, 503)
#: The keys a spec may carry (anything else is refused, so a misspelt knob is not ignored).
SPEC_KEYS = frozenset(
    {"kind", "method", "path", "probability", "times", "latency_ms", "status", "retry_after"}
)


class FaultSpecError(ValueError):
    """A fault definition the control surface refuses with 400."""


@dataclass(slots=True)
class Fault:
    """One injected behaviour, as listed by ``GET /__sim/faults``."""

    id: int
    kind: Kind
    method: str = "*"
    path: str = "*"
    probability: float = 1.0
    times: int | None = None
    #: ``latency``: the added delay.
    latency_ms: float = 0.0
    #: ``error``: the status answered (one of ERROR_STATUSES).
    status: int = 500
    #: ``throttle``: the 429's ``Retry-After`` (default 1); ``error``: sent only when set.
    retry_after: int | None = None
    fired: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return fnmatch.fnmatchcase(path.rstrip("/") or "/", self.path.rstrip("/") or "/")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_spec(spec: Mapping[str, Any], fault_id: int) -> Fault:
    """A validated ``Fault`` from a JSON spec; FaultSpecError says what is wrong."""
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise FaultSpecError(f"unknown fault keys: {', '.join(unknown)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    try:
        status = int(spec.get("status", 500))
        probability = float(spec.get("probability", 1.0))
        times = None if spec.get("times") is None else int(spec["times"])
        retry_after = None if spec.get("retry_after") is None else int(spec["retry_after"])
        latency_ms = float(spec.get("latency_ms", 0.0))
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"bad fault value: {exc}") from exc
    if kind == "error" and status not in ERROR_STATUSES:
        raise FaultSpecError(f"error status must be one of {ERROR_STATUSES}")
    if not 0.0 <= probability <= 1.0:
        raise FaultSpecError("probability must be within [0, 1]")
    if times is not None and times < 1:
        raise FaultSpecError("times must be at least 1")
    if kind == "throttle" and retry_after is None:
        retry_after = 1
    return Fault(
        id=fault_id,
        kind=cast(Kind, kind),
        method=str(spec.get("method") or "*").upper(),
        path=str(spec.get("path") or "*"),
        probability=probability,
        times=times,
        latency_ms=latency_ms,
        status=status,
        retry_after=retry_after,
    )


@dataclass(slots=True)
class FaultDecision:
    """What the faults say about one request: a delay, and at most one outcome."""

    latency_s: float = 0.0
    fault: Fault | None = None

    @property
    def outcome(self) -> Kind | None:
        return self.fault.kind if self.fault is not None else None


class FaultBook:
    """The active faults and the seeded RNG; safe to change from a test's thread."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Validate and add one spec; returns the fault with its id."""
        with self._lock:
            fault = parse_spec(spec, self._next_id)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        """Drop one fault; False when there is none with that id."""
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            removed = len(kept) != len(self._faults)
            self._faults = kept
            return removed

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def entries(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    def decide(self, method: str, path: str) -> FaultDecision:
        """The faults that fire for this request, consuming their ``times``."""
        decision = FaultDecision()
        if not self._faults:
            return decision
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.kind != "latency" and decision.fault is not None:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                if fault.times is not None and fault.fired >= fault.times:
                    self._faults.remove(fault)
                if fault.kind == "latency":
                    decision.latency_s += fault.latency_ms / 1000.0
                else:
                    decision.fault = fault
        return decision
