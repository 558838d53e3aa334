"""Every casebridge stage composed in this process, each through its own `bootstrap`.

The same wiring a deployment has (fetchers, inbox, transformer, one loader per target), with
three differences: one transport kind for all (the in-process broker unless `RABBITMQ_URL` is
set), short retry tiers (the simulators answer at once), and the taps of `casebridge_local.taps`
between the services and what they already accept as arguments.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import SecretStr

from casebridge.control import ControlStore, open_control_store
from casebridge.control.batching import BatchingControlStore
from casebridge.memory import MemoryBroker
from casebridge.polling import PollingService
from casebridge.service import ConsumingService
from casebridge.settings import BrokerSettings
from casebridge.topology import Topology
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from casebridge_local.drain import AmqpBacklog, Backlog, MemoryBacklog
from casebridge_local.options import Options
from casebridge_local.simulators import SEED, Simulators
from casebridge_local.tally import Tally
from casebridge_local.taps import CountingRouter, CountingTarget, CountingTransport
from fetcher_oscar import bootstrap as fetcher_oscar
from fetcher_oscar import config as fetcher_oscar_config
from fetcher_primero import bootstrap as fetcher_primero
from fetcher_primero import config as fetcher_primero_config
from inbox import bootstrap as inbox_service
from inbox import config as inbox_config
from inbox import validation
from loader import bootstrap as loader
from loader import config as loader_config
from loader.target import Target
from loader.targets import ona, oscar, primero, progres
from transformer import bootstrap as transformer
from transformer import config as transformer_config
from transformer.cambodia import CambodiaTables
from transformer.flows import FlowRouter, packaged_mappers
from transformer.progres import ProgresTables

#: Retry tiers in seconds: short, the simulators are local (a deployment waits minutes).
RETRY_DELAYS_S = (1.0, 3.0, 10.0)
TARGETS = ("oscar", "primero", "progres", "ona")
#: The inbox's answer to a webhook it accepted (the broker confirmed its raw record).
ACCEPTED = 202
#: The flow of a DTP webhook by its `request_type` (as the inbox routes it).
WEBHOOK_FLOWS = {validation.REFERRAL: "p1", validation.DECISION: "p4"}


def refusal_reason(result: dict[str, Any]) -> str:
    """The inbox's answer to a refused webhook in a line: status, error code, message, field
    (the inbox names fields, never values), or the connection error."""
    if result.get("status") is None:
        return f"not delivered: {result.get('error') or 'no answer'}"
    answer = result.get("response")
    if not isinstance(answer, dict):
        return f"{result['status']}"
    text = f"{result['status']} {answer.get('error', '')}: {answer.get('message', '')}"
    return f"{text} (field {answer['field']})" if answer.get("field") else text


PRIMERO_FLOWS = "c1,o1,p2,p3"


@dataclass
class Pipeline:
    """The composed services; `start` brings up the consumers and the inbox, the fetchers run
    either one pass each (`fetch_once`) or on their schedule (`start_polling`)."""

    options: Options
    sims: Simulators
    tally: Tally
    cambodia: CambodiaTables
    progres: ProgresTables
    broker: MemoryBroker = field(default_factory=MemoryBroker)
    inbox_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    consumers: list[ConsumingService] = field(default_factory=list)
    fetchers: list[PollingService] = field(default_factory=list)
    inbox: inbox_service.InboxService | None = None
    _stores: list[ControlStore] = field(default_factory=list)
    _letters: TextIO | None = None

    # -- settings ------------------------------------------------------------------------
    def bus(self) -> dict[str, Any]:
        """Broker settings every service shares (health ports off: one process, no probes)."""
        options = self.options
        settings: dict[str, Any] = {
            "transport": options.transport,
            "topology_prefix": options.topology_prefix,
            "retry_delays_s": RETRY_DELAYS_S,
            "health_port": 0,
            "log_level": options.log_level,
        }
        if options.rabbitmq_url:
            settings["rabbitmq_url"] = SecretStr(options.rabbitmq_url)
        return settings

    @property
    def topology(self) -> Topology:
        return topology_from(BrokerSettings(**self.bus()))

    def transport(self, service: str) -> Transport:
        inner = build_transport(
            BrokerSettings(**self.bus()), name=service, memory_broker=self.broker
        )
        return CountingTransport(inner, self.tally, self.topology.raw_exchange, self._letters)

    def backlog(self) -> Backlog:
        if self.options.rabbitmq_url:
            return AmqpBacklog(self.options.rabbitmq_url, self.topology)
        return MemoryBacklog(self.broker)

    def in_flight(self) -> int:
        return sum(c.in_flight for s in self.consumers for c in s.consumers)

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Transformer, the four loaders and the inbox, consuming and serving; this run's dead
        letters go to `options.dead_letter_file` from now on."""
        self._letters = self.options.dead_letter_file.open("w", encoding="utf-8")
        router = CountingRouter(
            FlowRouter(packaged_mappers(self.cambodia, self.progres)), self.tally
        )
        service = transformer.bootstrap(
            transformer_config.Settings(**self.bus()),
            transport=self.transport("transformer"),
            router=router,
        )
        await self._start(service)
        for target in TARGETS:
            await self._start(await self._loader(target))
        await self._start_inbox()

    async def _start(self, service: ConsumingService) -> None:
        await service.start()
        self.consumers.append(service)

    async def _loader(self, name: str) -> ConsumingService:
        settings = loader_config.Settings(
            **self.bus(),
            loader_target=name,
            control_database_url=SecretStr(self.options.control_url(f"loader-{name}")),
        )
        opened = await open_control_store(
            settings.control_database_url.get_secret_value(), pool_size=settings.concurrency + 4
        )
        store = BatchingControlStore(opened)
        self._stores.append(store)
        target = CountingTarget(self._target(name, store), self.tally)
        return await loader.bootstrap(
            settings, transport=self.transport(f"loader-{name}"), store=store, target=target
        )

    def _target(self, name: str, store: ControlStore) -> Target:
        """The target plugin with the simulators' (or the ONA database's) settings."""
        config = self.sims.target_settings()
        if name == "oscar":
            return oscar.build(store, oscar.OscarSettings(**config["oscar"]))
        if name == "primero":
            return primero.build(store, primero.PrimeroSettings(**config["primero"]))
        if name == "progres":
            return progres.build(store, progres.ProgresSettings(**config["progres"]))
        url = SecretStr(self.options.ona_url)
        return ona.build(store, ona.OnaSettings(ona_database_url=url, ona_migrate=True))

    async def _start_inbox(self) -> None:
        settings = inbox_config.Settings(
            **self.bus(),
            inbox_host="127.0.0.1",
            inbox_port=0,
            inbox_dtp_api_key=SecretStr(self.inbox_key),
            inbox_primero_api_key=SecretStr(self.inbox_key),
            control_database_url=SecretStr(self.options.control_url("inbox")),
        )
        self.inbox = inbox_service.bootstrap(settings, transport=self.transport("inbox"))
        await self.inbox.start()

    @property
    def inbox_url(self) -> str:
        assert self.inbox is not None
        return f"http://127.0.0.1:{self.inbox.bound_port}"

    def build_fetchers(self) -> None:
        """fetcher-oscar (C0, C2) and fetcher-primero (C1, O1, P2, P3), not started."""
        interval = self.options.poll_interval_s
        sim_oscar = self.sims.oscar
        self.fetchers.append(
            fetcher_oscar.bootstrap(
                fetcher_oscar_config.Settings(
                    **self.bus(),
                    poll_interval_s=interval,
                    oscar_url=sim_oscar.url,
                    oscar_user=sim_oscar.email,
                    oscar_password=SecretStr(sim_oscar.password),
                    control_database_url=SecretStr(self.options.control_url("fetcher-oscar")),
                ),
                transport=self.transport("fetcher-oscar"),
            )
        )
        sim_primero = self.sims.primero
        self.fetchers.append(
            fetcher_primero.bootstrap(
                fetcher_primero_config.Settings(
                    **self.bus(),
                    poll_interval_s=interval,
                    fetch_flows=PRIMERO_FLOWS,
                    primero_url=sim_primero.base_url,
                    primero_user=sim_primero.user_name,
                    primero_password=SecretStr(sim_primero.password),
                    control_database_url=SecretStr(self.options.control_url("fetcher-primero")),
                ),
                transport=self.transport("fetcher-primero"),
            )
        )

    async def fetch_once(self) -> int:
        """One pass of each fetcher (OSCaR first: C0 and C2 before C1, as the old cron did)."""
        published = 0
        for fetcher in self.fetchers:
            await fetcher.connect()
            published += await fetcher.fetch_pass()
        return published

    async def start_polling(self) -> None:
        """Each fetcher on its schedule (the first pass at once unless POLL_CRON is set)."""
        for fetcher in self.fetchers:
            await fetcher.start()

    async def push_dtp(self) -> list[int | None]:
        """DTP pushes its outbox (P1 referrals, P4 decisions) to the inbox; the HTTP statuses.
        Each refusal is counted on its flow with the inbox's answer (DTP keeps the webhook)."""
        results = await self.sims.push_dtp_outbox(self.inbox_url, self.inbox_key)
        for result in results:
            if result["status"] != ACCEPTED:
                counts = self.tally[WEBHOOK_FLOWS.get(str(result.get("request_type")), "?")]
                counts.refused += 1
                counts.refusals[refusal_reason(result)] += 1
        return [result["status"] for result in results]

    async def answer_dtp_referrals(self) -> int:
        """DTP decides on the referrals Primero sent it (P3) and pushes the decisions (P4), as
        its reviewers would: the demo's decisions then name cases that exist."""
        added = self.sims.dtp.sim.decide_received(seed=SEED)
        if added:
            await self.push_dtp()
        return added

    async def stop_fetchers(self) -> None:
        """Stop polling (a pass in progress finishes) and release the fetchers' resources."""
        while self.fetchers:
            await self.fetchers.pop().stop()

    async def stop(self) -> None:
        """Fetchers first, then the inbox, then the consumers (in-flight messages finish or go
        back), then the control stores."""
        await self.stop_fetchers()
        if self.inbox is not None:
            await self.inbox.stop()
        while self.consumers:
            await self.consumers.pop().stop()
        while self._stores:
            await self._stores.pop().close()
        if self._letters is not None:
            self._letters.close()
            self._letters = None
