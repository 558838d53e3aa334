"""The per-client-IP limits of the nginx that ships with Primero, in front of every API call.

Primero's bundled proxy (``docker/nginx/root/etc/nginx/conf.d/security.conf:8-11``) has
``limit_conn default 20`` and ``limit_req ... rate=50r/s`` with ``burst=20`` and no
``nodelay``, both keyed on ``$binary_remote_addr``. So per client IP:

- the rate is a leaky bucket draining at 50 requests/s; each request adds one. A request that
  leaves the bucket empty (1/50 s or more after the last one) passes at once; one that leaves
  ``excess`` in it (at most 20) is *held* for ``excess / rate`` seconds, then passes; one that
  would take the excess past 20 is refused;
- at most 20 requests of one IP are in flight at once; the 21st is refused;
- a refusal is nginx's default 503 page (``text/html``), with no ``Retry-After``.

A consequence casebridge relies on: a client that never has more than 20 requests in flight
cannot overflow the bucket (each queued request holds one of its own slots), so its
concurrency, not its rate, is what avoids the 503s; the rate decides how long nginx holds it.
Control calls (``/__sim``) bypass the limits. Time is the machine's monotonic clock, not the
simulated clock (moving the simulated clock must not drain the bucket).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from primero_sim import SIM_PREFIX
from simkit.control import json_object
from simkit.responses import json_response

RATE_PER_S = 50.0
BURST = 20
MAX_CONNECTIONS = 20
#: nginx's built-in error page for 503 (`ngx_http_special_response.c`), CRLF line ends.
REFUSED_PAGE = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

Refusal = Literal["limit_req", "limit_conn"]


@dataclass
class LimitStats:
    """What the limits did since the last reset (``GET /__sim/limits``)."""

    passed: int = 0
    delayed: int = 0
    refused_rate: int = 0
    refused_concurrency: int = 0
    max_in_flight: int = 0

    @property
    def refused(self) -> int:
        return self.refused_rate + self.refused_concurrency


@dataclass
class _Bucket:
    excess: int = 0  # thousandths of a request
    last: int = 0  # milliseconds


@dataclass
class ProxyLimits:
    """limit_req (leaky bucket, no nodelay) and limit_conn, per client IP; ``enabled`` switches
    both (unit tests that drive the API hard turn them off)."""

    enabled: bool = True
    rate_per_s: float = RATE_PER_S
    burst: int = BURST
    max_connections: int = MAX_CONNECTIONS
    clock: Callable[[], float] = time.monotonic
    stats: LimitStats = field(default_factory=LimitStats)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _in_flight: Counter[str] = field(default_factory=Counter)

    def admit_rate(self, ip: str) -> float | None:
        """Seconds nginx holds this request before passing it on, or None when it refuses it."""
        # Whole milliseconds and thousandths of a request, as nginx counts (no float drift).
        now = round(self.clock() * 1000)
        bucket = self._buckets.get(ip)
        if bucket is None:  # a new key starts empty: its first request is not held
            self._buckets[ip] = _Bucket(0, now)
            return 0.0
        drained = round(self.rate_per_s * max(0, now - bucket.last))
        excess = max(0, bucket.excess - drained + 1000)
        if excess > self.burst * 1000:
            self.stats.refused_rate += 1
            return None
        bucket.excess, bucket.last = excess, now
        if excess > 0:
            self.stats.delayed += 1
        return excess / (self.rate_per_s * 1000)

    def enter(self, ip: str) -> bool:
        """Count one more request in flight for ``ip``; False (refused) past the limit."""
        if self._in_flight[ip] >= self.max_connections:
            self.stats.refused_concurrency += 1
            return False
        self._in_flight[ip] += 1
        self.stats.passed += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight[ip])
        return True

    def leave(self, ip: str) -> None:
        self._in_flight[ip] -= 1
        if self._in_flight[ip] <= 0:
            del self._in_flight[ip]

    def reset(self, enabled: bool) -> None:
        """Empty buckets and counters, the real limits, on or off as configured."""
        self.enabled = enabled
        self.rate_per_s, self.burst, self.max_connections = RATE_PER_S, BURST, MAX_CONNECTIONS
        self.stats = LimitStats()
        self._buckets.clear()

    def summary(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "rate_per_s": self.rate_per_s,
            "burst": self.burst,
            "max_connections": self.max_connections,
            "stats": {**asdict(self.stats), "refused": self.stats.refused},
        }


def router(limits: ProxyLimits) -> APIRouter:
    """``GET /__sim/limits`` (settings and counters) and ``PUT /__sim/limits``
    ``{enabled?, rate_per_s?, burst?, max_connections?}`` (counters restart)."""
    routes = APIRouter(prefix=SIM_PREFIX)

    @routes.get("/limits")
    async def show() -> Response:
        return json_response(200, limits.summary())

    @routes.put("/limits")
    async def change(request: Request) -> Response:
        body = await json_object(request)
        try:
            enabled = bool(body.get("enabled", limits.enabled))
            rate = float(body.get("rate_per_s", limits.rate_per_s))
            burst = int(body.get("burst", limits.burst))
            connections = int(body.get("max_connections", limits.max_connections))
        except (TypeError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        if rate <= 0 or burst < 0 or connections < 1:
            return json_response(400, {"error": "rate_per_s > 0, burst >= 0, max_connections >= 1"})
        limits.enabled, limits.rate_per_s, limits.burst = enabled, rate, burst
        limits.max_connections = connections
        limits.stats = LimitStats()
        return json_response(200, limits.summary())

    return routes
