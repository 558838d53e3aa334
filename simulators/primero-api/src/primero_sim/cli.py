"""``primero-api-sim``: run the simulator standalone."""

from __future__ import annotations

import argparse
import logging
import time

from primero_sim.server import serve_foreground
from primero_sim.state import SimConfig, SimState

log = logging.getLogger("primero_sim")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="primero-api-sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--cases", type=int, default=0, help="generated cases to load")
    parser.add_argument("--profile", choices=("mixed", "cambodia", "gambella"), default="mixed")
    parser.add_argument("--samples", action="store_true", help="also load the reference samples")
    parser.add_argument("--auth-regime", choices=("jwt", "session"), default="jwt")
    parser.add_argument("--no-csrf", action="store_true", help="session regime without CSRF")
    parser.add_argument(
        "--no-proxy-limits",
        action="store_true",
        help="turn off the bundled nginx's per-IP limits (20 in flight, 50 r/s burst 20)",
    )
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    state = SimState(
        SimConfig(
            auth_regime=args.auth_regime,
            csrf_protection=not args.no_csrf,
            seed=args.seed,
            cases=args.cases,
            samples=args.samples,
            profile=args.profile,
            proxy_limits=not args.no_proxy_limits,
        )
    )
    log.info("loaded %d cases in %.2fs", len(state.store), time.perf_counter() - started)
    serve_foreground(state, args.host, args.port, args.log_level.lower())
