"""Per-route fault injection, so clients' retry and timeout paths can be tested.

A fault matches on method and a shell-style path glob and fires with a
probability, optionally only ``times`` times. Kinds: ``latency`` (added delay,
combines with others), ``error`` (500/502/503), ``throttle`` (429 with
``Retry-After``), ``expire_token`` (expires the request's token or session and
answers 401) and ``drop`` (the connection is closed with no response).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

Kind = Literal["latency", "error", "throttle", "expire_token", "drop"]
KINDS: tuple[str, ...] = ("latency", "error", "throttle", "expire_token", "drop")
ERROR_STATUSES = (500, 502, 503)


@dataclass
class Fault:
    id: int
    kind: Kind
    method: str = "*"
    path: str = "*"
    latency_ms: float = 0.0
    status: int = 500
    retry_after: int = 1
    probability: float = 1.0
    times: int | None = None
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultSpecError(ValueError):
    """A fault definition the control surface rejects with 400."""


class FaultTable:
    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._next = 1
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
        status = int(spec.get("status", 500))
        if kind == "error" and status not in ERROR_STATUSES:
            raise FaultSpecError("error status must be 500, 502 or 503")
        probability = float(spec.get("probability", spec.get("rate", 1.0)))
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError("probability must be within 0..1")
        times = spec.get("times")
        with self._lock:
            fault = Fault(
                id=self._next,
                kind=kind,
                method=str(spec.get("method", "*")).upper(),
                path=str(spec.get("path", "*")),
                latency_ms=float(spec.get("latency_ms", 0.0)),
                status=status,
                retry_after=int(spec.get("retry_after", 1)),
                probability=probability,
                times=None if times is None else int(times),
            )
            self._next += 1
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def entries(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def fire(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request, consuming their ``times`` budget."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", method) or not fnmatch.fnmatchcase(path, fault.path):
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                fired.append(fault)
        return fired
