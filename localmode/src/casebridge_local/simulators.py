"""The three simulated systems, served in-process on free loopback ports and seeded with demo
data: Primero (reference samples + generated Cambodian and Gambella cases), OSCaR (reference
feed + generated clients + the children Primero's cases name, `casebridge_local.demo_world`)
and DTP (reference webhooks + generated ones in its push outbox).

Each runs uvicorn on its own daemon thread (the simulators' own `testing` helpers), so their
request handling never competes with the pipeline's event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from casebridge_local.demo_world import oscar_seed_for
from casebridge_local.options import Options
from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL
from dtp_sim.testing import RunningDtp, running_dtp
from oscar_sim.catalogue import Tenant
from oscar_sim.testing import RunningOscar, running_oscar
from primero_sim.testing import RunningPrimero, running_primero
from transformer.cambodia import CambodiaTables

#: Generator seed: the same demo data on every run.
SEED = 42
#: Ids of the OSCaR tenants added for the demo start here (clear of the simulator's own).
DEMO_TENANT_IDS = 2000


@dataclass(frozen=True)
class Simulators:
    primero: RunningPrimero
    oscar: RunningOscar
    dtp: RunningDtp

    def target_settings(self) -> dict[str, dict[str, Any]]:
        """The loader targets' connection settings (what a deployment puts in env)."""
        dtp = self.dtp.sim.config
        unlimited = {"target_rate_per_s": 0.0}
        return {
            "oscar": {
                "oscar_url": self.oscar.url,
                "oscar_user": self.oscar.email,
                "oscar_password": self.oscar.password,
                **unlimited,
            },
            "primero": {
                "primero_url": self.primero.base_url,
                "primero_user": self.primero.user_name,
                "primero_password": self.primero.password,
                **unlimited,
            },
            "progres": {
                "dtp_url": self.dtp.base_url,
                # One key per endpoint; feedback uses the decision endpoint's (the default).
                "dtp_referral_subscription_key": self.dtp.key_for(RECEIVE_INCOMING_REFERRAL),
                "dtp_decision_subscription_key": self.dtp.key_for(
                    RECEIVE_DECISION_OUTGOING_REFERRAL
                ),
                "dtp_cert_thumbprint_header": dtp.cert_header,
                "dtp_cert_thumbprint": dtp.client_cert_thumbprint,
                **unlimited,
            },
        }

    async def push_dtp_outbox(self, inbox_url: str, api_key: str) -> list[dict[str, Any]]:
        """DTP pushes every queued webhook to the inbox, one at a time; what each push got
        (`status`, `response`, `error`, `request_type`, as DTP's `/__sim/push` reports it)."""
        body = {"url": f"{inbox_url}/inbox/dtp", "api_key": api_key}
        async with httpx.AsyncClient(timeout=300) as client:
            response = await client.post(f"{self.dtp.url}/__sim/push", json=body)
            response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results


@contextlib.contextmanager
def running_simulators(options: Options, tables: CambodiaTables) -> Iterator[Simulators]:
    """Start and seed the three simulators; stop them on exit."""
    with (
        running_primero(samples=True, cases=options.cases, seed=SEED) as primero,
        running_oscar(samples=True, count=options.oscar_clients, seed=SEED) as oscar,
        running_dtp(samples=True) as dtp,
    ):
        seed = oscar_seed_for(primero.state, tables)
        tenants = oscar.sim.store.tenants
        for name in sorted(seed.organisations - set(tenants)):
            tenants[name] = Tenant(name, DEMO_TENANT_IDS + len(tenants), "")
        oscar.sim.load(seed.clients)
        dtp.sim.seed_generated(options.dtp_referrals, options.dtp_decisions, SEED)
        yield Simulators(primero, oscar, dtp)
