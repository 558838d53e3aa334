"""``dtp-sim``: run the DTP gateway simulator standalone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dtp_sim.app import create_app
from dtp_sim.config import DEFAULT_SUBSCRIPTION_KEYS, DtpConfig, TlsFiles
from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL
from dtp_sim.state import DtpSim
from dtp_sim.tls_front import TlsFront
from simkit.serving import serve


def _parser() -> argparse.ArgumentParser:
    defaults = DtpConfig()
    parser = argparse.ArgumentParser(prog="dtp-sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--seed", type=int, default=0, help="RNG seed for faults/generation")
    parser.add_argument("--samples", action="store_true", help="fill the outbox with samples")
    parser.add_argument(
        "--referral-key",
        default=DEFAULT_SUBSCRIPTION_KEYS[RECEIVE_INCOMING_REFERRAL],
        help="subscription key of ReceiveIncomingReferral",
    )
    parser.add_argument(
        "--decision-key",
        default=DEFAULT_SUBSCRIPTION_KEYS[RECEIVE_DECISION_OUTGOING_REFERRAL],
        help="subscription key of ReceiveDecisionOutgoingReferral (decisions and feedback)",
    )
    parser.add_argument("--cert-thumbprint", default=defaults.client_cert_thumbprint)
    parser.add_argument("--base-path", default=defaults.base_path)
    parser.add_argument("--webhook-url", default=None, help="where pushes go")
    parser.add_argument("--webhook-api-key", default=None)
    parser.add_argument("--webhook-key-header", default=defaults.webhook_key_header)
    parser.add_argument("--tls-port", type=int, default=None, help="also serve mutual TLS here")
    parser.add_argument("--tls-cert", default=None, help="PEM server certificate (TLS listener)")
    parser.add_argument("--tls-key", default=None, help="PEM server private key")
    parser.add_argument("--tls-client-ca", default=None, help="CA bundle of accepted clients")
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    tls = None
    if args.tls_port is not None:
        if not (args.tls_cert and args.tls_key and args.tls_client_ca):
            parser.error("--tls-port needs --tls-cert, --tls-key and --tls-client-ca")
        tls = TlsFiles(args.tls_cert, args.tls_key, args.tls_client_ca)
    sim = DtpSim(
        DtpConfig(
            subscription_keys={
                RECEIVE_INCOMING_REFERRAL: args.referral_key,
                RECEIVE_DECISION_OUTGOING_REFERRAL: args.decision_key,
            },
            client_cert_thumbprint=args.cert_thumbprint,
            base_path=args.base_path,
            webhook_url=args.webhook_url,
            webhook_api_key=args.webhook_api_key,
            webhook_key_header=args.webhook_key_header,
            tls=tls,
            seed=args.seed,
        )
    )
    if args.samples:
        sim.seed_samples()
    front = None
    if tls is not None:
        upstream = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        front = TlsFront(tls, (upstream, args.port), sim.tls_peers, args.host, args.tls_port)
        front.start()
    try:
        serve(create_app(sim), sim.connections, args.host, args.port, args.log_level)
    finally:
        if front is not None:
            front.stop()


if __name__ == "__main__":
    main()
