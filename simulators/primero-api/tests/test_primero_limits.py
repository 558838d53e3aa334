"""The bundled nginx's per-IP limits: 20 in flight, 50 r/s with a burst of 20, 503 HTML.

Real source: primeroIMS/primero ``docker/nginx/root/etc/nginx/conf.d/security.conf:8-11``
(``limit_conn default 20``; ``limit_req ... rate=50r/s`` ``burst=20``, no ``nodelay``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
import requests

from primero_sim.limits import REFUSED_PAGE, ProxyLimits
from primero_sim.testing import running_primero

get = partial(requests.get, timeout=30)
put = partial(requests.put, timeout=10)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_holds_requests_past_the_rate_and_refuses_past_the_burst():
    clock = FakeClock()
    limits = ProxyLimits(clock=clock)
    holds = [limits.admit_rate("10.0.0.1") for _ in range(23)]
    # All at one instant: the first passes, the next 20 are held 1/50 s apart, then refusals.
    assert holds[0] == 0.0
    assert holds[1:21] == pytest.approx([n / 50 for n in range(1, 21)])
    assert holds[21:] == [None, None]
    assert limits.stats.refused_rate == 2
    assert limits.admit_rate("10.0.0.2") == 0.0  # another IP has its own bucket
    clock.now += 0.1  # five requests' worth drained
    assert limits.admit_rate("10.0.0.1") == pytest.approx(16 / 50)
    clock.now += 10
    assert limits.admit_rate("10.0.0.1") == 0.0


def test_requests_spaced_at_the_rate_are_never_held():
    clock = FakeClock()
    limits = ProxyLimits(clock=clock)
    for _ in range(200):
        assert limits.admit_rate("10.0.0.1") == 0.0
        clock.now += 1 / 50


def test_concurrency_counts_in_flight_requests_per_ip():
    limits = ProxyLimits()
    assert all(limits.enter("a") for _ in range(20))
    assert not limits.enter("a")
    assert limits.enter("b")
    limits.leave("a")
    assert limits.enter("a")
    assert (limits.stats.refused_concurrency, limits.stats.max_in_flight) == (1, 20)


@pytest.fixture
def sim():
    with running_primero(samples=True) as running:
        yield running


def _refused(response: requests.Response) -> bool:
    if response.status_code != 503:
        assert response.status_code == 200, response.text
        return False
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Retry-After" not in response.headers
    assert response.content == REFUSED_PAGE
    return True


def test_the_21st_request_in_flight_gets_nginx_503_page(sim):
    # Each request stays in flight 1.5 s; they arrive at ~33/s (under the rate), so only
    # the concurrency limit can refuse them.
    sim.state.faults.add({"kind": "latency", "path": "/api/v2/users", "latency_ms": 1500})

    def one(delay: float) -> requests.Response:
        time.sleep(delay)
        return get(sim.url("/api/v2/users"), auth=sim.auth)

    with ThreadPoolExecutor(25) as pool:
        responses = list(pool.map(one, [n * 0.03 for n in range(25)]))
    assert sum(_refused(r) for r in responses) == 5
    stats = get(sim.url("/__sim/limits")).json()["stats"]
    assert (stats["refused_concurrency"], stats["refused_rate"], stats["max_in_flight"]) == (
        5,
        0,
        20,
    )


def test_a_burst_past_twenty_is_refused_and_the_rest_are_held_to_the_rate(sim):
    with requests.Session() as warm:  # connections open first: arrivals then come together
        warm.get(sim.url("/__sim/health"))
    started = time.perf_counter()
    with ThreadPoolExecutor(40) as pool:
        responses = list(
            pool.map(lambda _: get(sim.url("/api/v2/users"), auth=sim.auth), range(40))
        )
    elapsed = time.perf_counter() - started
    refused = sum(_refused(r) for r in responses)
    stats = get(sim.url("/__sim/limits")).json()["stats"]
    assert refused == stats["refused"] > 0
    assert stats["refused_rate"] > 0
    # What passed was held: no faster than the rate allows after the first one.
    assert stats["delayed"] > 0
    assert elapsed >= (40 - refused - 1) / 50 * 0.9


def test_a_write_refused_by_the_proxy_is_journaled_as_such(sim):
    put(sim.url("/__sim/limits"), json={"max_connections": 1})
    sim.state.faults.add({"kind": "latency", "path": "/api/v2/users", "latency_ms": 800})
    case = "ee03c7e4-46bd-40ed-9312-01ce08515f1a"
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(get, sim.url("/api/v2/users"), auth=sim.auth)
        time.sleep(0.3)
        patched = requests.patch(
            sim.url(f"/api/v2/cases/{case}"), json={"data": {"age": 3}}, auth=sim.auth, timeout=10
        )
        assert slow.result().status_code == 200
    assert _refused(patched)
    (write,) = get(sim.url("/__sim/writes")).json()["data"]
    assert (write["status"], write["fault"]) == (503, "limit_conn")


def test_limits_can_be_turned_off_by_config_and_control_call():
    with running_primero(proxy_limits=False) as sim:
        assert get(sim.url("/__sim/limits")).json()["enabled"] is False
        with ThreadPoolExecutor(40) as pool:
            codes = list(
                pool.map(lambda _: get(sim.url("/api/v2/users"), auth=sim.auth), range(40))
            )
        assert {r.status_code for r in codes} == {200}
        assert put(sim.url("/__sim/limits"), json={"enabled": True}).json()["enabled"] is True
        assert sim.state.limits.enabled
        sim.state.reset()  # back to the configured default
        assert not sim.state.limits.enabled
