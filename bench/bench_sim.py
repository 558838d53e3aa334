"""Benchmark: how fast the Primero simulator serves the cases index.

Generates N cases, starts the simulator in a thread on a free loopback port,
then pages through every case with a keep-alive ``requests.Session`` at
per=1000: once with no filter, once with the cursor query the sync loop uses
(``last_updated_at=<from>..&order_by=last_updated_at&order=asc``). Prints the
figures, and as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import time

import orjson
import requests

from primero_sim.generate import generate
from primero_sim.state import SimConfig, SimState
from primero_sim.testing import running_primero

PER = 1000


def page_through(
    session: requests.Session, url: str, params: dict[str, str]
) -> tuple[int, int, float]:
    """Fetch every page; returns (cases, pages, seconds). Bodies are fully decoded."""
    cases = pages = 0
    started = time.perf_counter()
    page = 1
    while True:
        response = session.get(url, params={**params, "per": str(PER), "page": str(page)})
        response.raise_for_status()
        body = orjson.loads(response.content)
        got = len(body["data"])
        cases += got
        pages += 1
        if got == 0 or page * PER >= body["metadata"]["total"]:
            break
        page += 1
    return cases, pages, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(args.cases, seed=args.seed)
    generate_s = time.perf_counter() - started
    # What is measured is the simulator's own speed: the bundled nginx's per-IP limits it
    # reproduces (50 r/s) would cap a serial client at 50 pages/s.
    state = SimState(SimConfig(proxy_limits=False))
    started = time.perf_counter()
    state.store.load(data.cases, data.referrals)
    load_s = time.perf_counter() - started
    print(
        f"generated {len(data.cases)} cases, {len(data.referrals)} referrals in {generate_s:.2f}s"
    )
    print(f"loaded into the store in {load_s:.2f}s")

    updated = sorted(c["last_updated_at"] for c in data.cases)
    cursor = updated[len(updated) // 2]  # the newer half: a realistic cursor window

    with running_primero(state=state) as sim:
        session = requests.Session()
        session.auth = sim.auth
        url = sim.url("/api/v2/cases")
        runs = {
            "all": {},
            "cursor": {
                "last_updated_at": f"{cursor}..",
                "order_by": "last_updated_at",
                "order": "asc",
            },
            "cursor_all": {
                "last_updated_at": "2000-01-01T00:00:00Z..",
                "order_by": "last_updated_at",
                "order": "asc",
            },
        }
        results: dict[str, dict[str, float]] = {}
        for name, params in runs.items():
            page_through(session, url, params)  # warm: serialise each case once
            cases, pages, seconds = page_through(session, url, params)
            rate = cases / seconds
            results[name] = {
                "cases": cases,
                "pages": pages,
                "seconds": round(seconds, 3),
                "cases_per_s": round(rate),
            }
            print(
                f"{name:>10}: {cases} cases in {pages} pages, {seconds:.2f}s, {rate:,.0f} cases/s"
            )

    worst = min(r["cases_per_s"] for r in results.values())
    summary = {
        "cases_per_s": worst,
        "cases": results["cursor_all"]["cases"],
        "pages": results["cursor_all"]["pages"],
        "generate_s": round(generate_s, 2),
        "load_s": round(load_s, 2),
        "runs": results,
    }
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
