"""The OSCaR target (flow C1): referral upserts, referral statuses, Primero links.

- `client_upsert`: `POST …/clients/upsert`. OSCaR creates a referral on every call with
  `is_referred`, so it is sent at most once per natural key (external_id, service, referral):
  recorded in the control store, repeats are superseded. A 422 "Record was found." means OSCaR
  already holds this first referral, linked to a client: the effect is there, so the command is
  superseded (and remembered), not dead-lettered. For a child OSCaR already knows (`global_id`)
  the feed is read first (`oscar_known_child`): an upsert OSCaR would answer 200 to without
  creating the referral, or refuse after saving it, is dead-lettered unsent; blanks are filled
  from OSCaR's own values so that none overwrites them. Concurrent ones share feed reads
  (`oscar_feed`), each a read requested after the command asked.
- `update_statuses`, `update_links`: `PUT`s that OSCaR applies idempotently; sent as given. A
  refused status (e.g. a legacy referral without `level_of_risk`) dead-letters with OSCaR's text.

How hard it drives OSCaR is the client's request budget (`oscar_budget`), which covers every
request (sign-in, feed reads, writes): at most min(CONCURRENCY, OSCAR_MAX_CONCURRENT_REQUESTS)
in flight, as many keep-alive connections, and OSCAR_MAX_REQUESTS_PER_S on average.
"""

from __future__ import annotations

import structlog

from casebridge.clients import HttpStatusError, OscarApiSettings, OscarClient
from casebridge.clients.budget import BudgetLimits
from casebridge.clients.http import TransientHttpError
from casebridge.control import ControlStore
from casebridge.errors import PermanentError, Superseded
from casebridge.messages import UpsertCommand
from loader.breaker import CircuitBreaker
from loader.config import ConcurrencySettings
from loader.guard_settings import GuardSettings
from loader.guarded import GuardedTarget
from loader.payloads import body_part, unknown_operation
from loader.target import Target
from loader.targets.oscar_feed import SharedFeedReads
from loader.targets.oscar_known_child import checked_known_child, is_known_child_referral
from loader.writer import Written

log = structlog.get_logger(__name__)

NAME = "oscar"
OPERATIONS = frozenset({"client_upsert", "update_statuses", "update_links"})
#: OSCaR's answer to a repeated first referral (API.md §2.3 branch B).
RECORD_WAS_FOUND = "Record was found."
#: Requests in flight to OSCaR where OSCAR_MAX_CONCURRENT_REQUESTS is unset (capped by
#: CONCURRENCY): OSCaR sets no limit, but it is one Rails deployment serving every NGO.
DEFAULT_MAX_CONCURRENT_REQUESTS = 32
#: Requests per second where neither OSCAR_MAX_REQUESTS_PER_S nor TARGET_RATE_PER_S is set.
DEFAULT_MAX_REQUESTS_PER_S = 100.0


class OscarSettings(OscarApiSettings, GuardSettings, ConcurrencySettings):
    """The OSCaR target's settings: `OSCAR_*`, the breaker, and `CONCURRENCY` (its pool follows
    it). `TARGET_BURST` does not apply (the budget's burst is its concurrency)."""


def oscar_budget(settings: OscarSettings) -> BudgetLimits:
    """The loader's request budget for the OSCaR host.

    In flight: OSCAR_MAX_CONCURRENT_REQUESTS (default 32), never more than CONCURRENCY (a
    command holds at most one request at a time, so more would sit idle). Rate:
    OSCAR_MAX_REQUESTS_PER_S; unset, a TARGET_RATE_PER_S the deployment set (the setting that
    governed OSCaR before), else 100/s. At L seconds per request the writes reach about
    min(in flight / L, rate) per second.
    """
    in_flight = min(
        settings.concurrency,
        settings.oscar_max_concurrent_requests or DEFAULT_MAX_CONCURRENT_REQUESTS,
    )
    if settings.oscar_max_requests_per_s is not None:
        rate = settings.oscar_max_requests_per_s
    elif "target_rate_per_s" in settings.model_fields_set:
        rate = settings.target_rate_per_s
    else:
        rate = DEFAULT_MAX_REQUESTS_PER_S
    return BudgetLimits(in_flight, max(0.0, rate))


class OscarWriter:
    """Writes commands to the OSCaR interop API."""

    name = NAME
    once_per_key = frozenset({"client_upsert"})

    def __init__(self, client: OscarClient) -> None:
        self._client = client
        self._feeds = SharedFeedReads(client.list_clients)

    @property
    def client(self) -> OscarClient:
        """The OSCaR client (its `limits` are the loader's request budget)."""
        return self._client

    async def start(self) -> None:
        """Nothing to open: the client signs in on first use."""

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._client.close()

    async def write(self, command: UpsertCommand) -> Written:
        """One request per command."""
        operation = command.operation
        if operation == "client_upsert":
            return await self._client_upsert(command)
        if operation == "update_statuses":
            return await self._update_statuses(command)
        if operation == "update_links":
            items = body_part(command, "data", list)
            await self._client.update_links({"data": items})
            return Written(target_id=command.key.get("global_id"))
        raise unknown_operation(command, OPERATIONS)

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        """An interrupted referral upsert is never sent blind a second time: OSCaR has no way to
        read a referral back (the feed lists clients; a referral waiting for the NGO's intake,
        or a known child's new one, is in none), and a second upsert creates a second referral
        unless the NGO already accepted the first (then "Record was found.")."""
        organization = command.payload.get("organization")
        tenant = organization.get("organization_name") if isinstance(organization, dict) else None
        raise PermanentError(
            f"an earlier attempt to send this referral (case {command.source.record_id}) to OSCaR"
            f" organisation {tenant or '?'} may have reached OSCaR (it was interrupted before"
            " OSCaR's answer was recorded), and OSCaR cannot be asked: not sent again. Check the"
            " child's referrals in OSCaR; if it is missing, `casebridge dlq replay ID --resend`"
        )

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        """A request OSCaR did not take (no connection, 429, 503), or a first referral (branch B)
        OSCaR refused: `find_referral` answers 422 only when the referral did not save. For a
        known child (branch A) a 422 may follow a saved referral (the client update failed), and
        a 500 may follow a save on either branch (e.g. an unknown `global_id`)."""
        if isinstance(error, TransientHttpError):
            return error.not_taken
        if isinstance(error, HttpStatusError) and error.status == 422:
            organization = command.payload.get("organization")
            return isinstance(organization, dict) and not is_known_child_referral(organization)
        return False

    async def _client_upsert(self, command: UpsertCommand) -> Written:
        organization = body_part(command, "organization")
        if is_known_child_referral(organization):
            feed = await self._feeds.feed()
            case_ref = str(command.key.get("external_id") or organization.get("external_id"))
            organization = checked_known_child(organization, feed, case_ref)
        try:
            await self._client.upsert_client({"organization": organization})
        except HttpStatusError as exc:
            if exc.status == 422 and RECORD_WAS_FOUND in exc.text:
                raise Superseded(f"OSCaR already holds this referral ({RECORD_WAS_FOUND})") from exc
            raise
        return Written(target_id=str(organization.get("global_id") or "") or None)

    async def _update_statuses(self, command: UpsertCommand) -> Written:
        items = body_part(command, "data", list)
        try:
            await self._client.update_statuses({"data": items})
        except HttpStatusError as exc:
            referrals = ", ".join(
                str(item.get("referral_id")) for item in items if isinstance(item, dict)
            )
            raise PermanentError(
                f"OSCaR refused the status of referral(s) {referrals}: {exc.text}"
                " (items before the refused one were applied; a replay re-sends them all)"
            ) from exc
        return Written()


def build(store: ControlStore, settings: OscarSettings | None = None) -> Target:
    """The entry point: the OSCaR writer behind the shared guards."""
    settings = settings or OscarSettings()
    limits = oscar_budget(settings)
    log.info(
        "oscar_request_budget",
        concurrent_requests=limits.concurrency,
        requests_per_s=limits.rate_per_s,
        concurrency=settings.concurrency,
    )
    writer = OscarWriter(OscarClient.from_settings(settings, limits=limits))
    breaker = CircuitBreaker(
        NAME, failure_threshold=settings.breaker_failures, cooldown_s=settings.breaker_cooldown_s
    )
    return GuardedTarget(writer, store, breaker)
