"""``dtp-sim``: run the DTP gateway simulator standalone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dtp_sim.app import create_app
from dtp_sim.config import DtpConfig
from dtp_sim.state import DtpSim
from simkit.serving import serve


def main(argv: Sequence[str] | None = None) -> None:
    defaults = DtpConfig()
    parser = argparse.ArgumentParser(prog="dtp-sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--seed", type=int, default=0, help="RNG seed for faults/generation")
    parser.add_argument("--samples", action="store_true", help="fill the outbox with samples")
    parser.add_argument("--subscription-key", default=defaults.subscription_key)
    parser.add_argument("--cert-thumbprint", default=defaults.client_cert_thumbprint)
    parser.add_argument("--base-path", default=defaults.base_path)
    parser.add_argument("--webhook-url", default=None, help="where pushes go")
    parser.add_argument("--webhook-api-key", default=None)
    parser.add_argument("--webhook-key-header", default=defaults.webhook_key_header)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    sim = DtpSim(
        DtpConfig(
            subscription_key=args.subscription_key,
            client_cert_thumbprint=args.cert_thumbprint,
            base_path=args.base_path,
            webhook_url=args.webhook_url,
            webhook_api_key=args.webhook_api_key,
            webhook_key_header=args.webhook_key_header,
            seed=args.seed,
        )
    )
    if args.samples:
        sim.seed_samples()
    serve(create_app(sim), sim.connections, args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
