"""``oscar-api-sim``: run the OSCaR simulator standalone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from oscar_sim.app import create_app
from oscar_sim.config import OscarConfig
from oscar_sim.state import OscarSim
from simkit.serving import serve


def main(argv: Sequence[str] | None = None) -> None:
    defaults = OscarConfig()
    parser = argparse.ArgumentParser(prog="oscar-api-sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--seed", type=int, default=0, help="RNG seed for ids and faults")
    parser.add_argument("--count", type=int, default=0, help="generated clients to preload")
    parser.add_argument("--samples", action="store_true", help="preload the reference feed")
    parser.add_argument("--email", default=defaults.email)
    parser.add_argument("--password", default=defaults.password)
    parser.add_argument("--external-system", default=defaults.external_system_name)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    config = OscarConfig(
        email=args.email,
        password=args.password,
        external_system_name=args.external_system or None,
        seed=args.seed,
    )
    sim = OscarSim(config)
    if args.samples:
        sim.seed_samples()
    if args.count:
        sim.seed_generated(args.count, args.seed)
    serve(create_app(sim), sim.connections, args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
