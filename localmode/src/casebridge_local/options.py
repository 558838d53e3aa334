"""What one run of the local mode uses: command-line options plus the environment.

The environment decides the infrastructure (as for the services): `RABBITMQ_URL` switches the
in-process broker for RabbitMQ, `CONTROL_DATABASE_URL` the SQLite control stores for one shared
database, `ONA_DATABASE_URL` the SQLite ONA file for PostgreSQL. Unset, everything lives in
this process and in files under the data folder.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Where the SQLite files and the log go unless `--data-dir` says otherwise (gitignored).
DEFAULT_DATA_DIR = Path(".local")
#: The topology prefix on RabbitMQ: not the deployments' `cb`, so a shared broker is safe.
DEFAULT_PREFIX = "cb-local"


@dataclass(frozen=True)
class Options:
    """One run's choices; `from_args` reads them, tests build them directly."""

    data_dir: Path = DEFAULT_DATA_DIR
    follow: bool = False
    cases: int = 200
    oscar_clients: int = 50
    dtp_referrals: int = 20
    dtp_decisions: int = 0
    poll_interval_s: float = 30.0
    settle_timeout_s: float = 300.0
    progress: bool = True
    rabbitmq_url: str | None = None
    topology_prefix: str = DEFAULT_PREFIX
    control_database_url: str | None = None
    ona_database_url: str | None = None
    log_level: str = "INFO"

    @property
    def transport(self) -> str:
        """`amqp` when RabbitMQ is configured, else the in-process `memory` broker."""
        return "amqp" if self.rabbitmq_url else "memory"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "casebridge-local.log"

    def control_url(self, service: str) -> str:
        """The configured control database, else one SQLite file per service."""
        if self.control_database_url:
            return self.control_database_url
        return f"sqlite+aiosqlite:///{self.data_dir / f'control-{service}.db'}"

    @property
    def ona_url(self) -> str:
        """The configured ONA PostgreSQL database, else the SQLite file."""
        return self.ona_database_url or f"sqlite:///{self.data_dir / 'ona.db'}"

    @property
    def dead_letter_file(self) -> Path:
        """The run's dead letters, metadata only (`casebridge dlq list --file` reads it)."""
        return self.data_dir / "dead-letters.jsonl"

    def owned_files(self) -> list[Path]:
        """The files this run owns (reset at start): its dead-letter file and SQLite files, none
        that the environment names."""
        names = [self.dead_letter_file.name]
        if not self.control_database_url:
            names.append("control-*.db*")
        if not self.ona_database_url:
            names.append("ona.db*")
        return sorted(p for name in names for p in self.data_dir.glob(name))

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
    ) -> Options:
        env = os.environ if env is None else env
        parser = argparse.ArgumentParser(
            prog="casebridge-local",
            description="Run every casebridge flow once (or keep polling) in one process,"
            " against seeded simulators; print a summary per flow.",
        )
        parser.add_argument(
            "--follow", action="store_true", help="keep polling until Ctrl-C (SIGINT/SIGTERM)"
        )
        parser.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="SQLite files and the log"
        )
        parser.add_argument("--cases", type=int, default=200, help="generated Primero cases")
        parser.add_argument("--oscar-clients", type=int, default=50, help="generated OSCaR clients")
        parser.add_argument(
            "--dtp-referrals", type=int, default=20, help="generated DTP referral webhooks"
        )
        parser.add_argument(
            "--dtp-decisions",
            type=int,
            default=0,
            help="extra generated DTP decisions on unknown cases (dead-lettered: try a replay)",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=float(env.get("POLL_INTERVAL_S") or 30.0),
            help="seconds between fetch passes with --follow (POLL_INTERVAL_S; POLL_CRON wins)",
        )
        parser.add_argument(
            "--timeout", type=float, default=300.0, help="longest wait for the queues to drain"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        args = parser.parse_args(argv)
        return cls(
            data_dir=args.data_dir,
            follow=args.follow,
            cases=args.cases,
            oscar_clients=args.oscar_clients,
            dtp_referrals=args.dtp_referrals,
            dtp_decisions=args.dtp_decisions,
            poll_interval_s=args.interval,
            settle_timeout_s=args.timeout,
            progress=not args.no_progress,
            rabbitmq_url=_from_env(env, "RABBITMQ_URL"),
            topology_prefix=_from_env(env, "TOPOLOGY_PREFIX") or DEFAULT_PREFIX,
            control_database_url=_from_env(env, "CONTROL_DATABASE_URL"),
            ona_database_url=_from_env(env, "ONA_DATABASE_URL"),
            log_level=_from_env(env, "LOG_LEVEL") or "INFO",
        )


def _from_env(env: Mapping[str, str], name: str) -> str | None:
    """`NAME`, or the content of the file `NAME_FILE` names (which wins), as the services read
    their settings (casebridge.settings); unset or empty is None."""
    path = env.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip() or None
    return env.get(name) or None
