"""A loader killed mid-batch (SIGKILL of `python -m loader`) loses nothing and duplicates nothing.

How the kill lands mid-batch: the loader (a subprocess, SQLite control store in a file both runs
share) loads part of the referrals; then OSCaR answers slowly and drops the connection of every
upsert (a latency and a drop fault), so deliveries are unacked, in flight or waiting in retry
tiers when the process is killed.

A connection lost after the request was sent says nothing about what OSCaR did, and OSCaR cannot
be asked (no referral read-back), so the loader never re-sends such an upsert blind: each noted
its intent before it was sent, and the restarted loader finds the intent without a completion and
dead-letters the command with a reason telling the admin to check OSCaR. Some landed before the
kill (only their completion was lost), the dropped ones did not. The admin reveals each
(`dlq show`), checks OSCaR (here: the simulator's referrals), re-sends the missing ones with
`casebridge dlq replay ID --resend` and purges the rest. In the end every referral is in OSCaR
exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import RETRY_DELAYS, UPSERT, Pipeline, casebridge, eventually, path_of
from .world import referral_to_oscar_case

pytestmark = pytest.mark.e2e

CASES = 30
LOADED_BEFORE_THE_TROUBLE = 8


@contextmanager
def loader_process(
    pipeline: Pipeline, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m loader` for target oscar, as deployed; killed on exit if still running."""
    environment = {
        **os.environ,
        **env,
        "LOADER_TARGET": "oscar",
        "RABBITMQ_URL": pipeline.rabbitmq_url,
        "TOPOLOGY_PREFIX": pipeline.prefix,
        "RETRY_DELAYS_S": str(list(RETRY_DELAYS)),
        "CONTROL_DATABASE_URL": pipeline.store_url("loader-oscar"),
        "CONCURRENCY": "8",
        "HEALTH_PORT": "0",
        "LOG_FORMAT": "json",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loader"], env=environment, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def test_a_loader_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    pipeline: Pipeline,
    target_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sims = pipeline.sims
    service_ids = [f"8c3f4e5d-0000-4000-8000-{n:012d}" for n in range(CASES)]

    def seed() -> None:
        for n, service_id in enumerate(service_ids):
            case = referral_to_oscar_case(
                name=f"Kid{n}", service_id=service_id, subtype="social_work_case_work_community"
            )
            sims.refer(sims.create_case(case), service_id)

    await asyncio.to_thread(seed)
    await pipeline.start_transformer()

    def applied() -> Counter[str]:
        """Upserts OSCaR received and answered (not dropped), per service (the key)."""
        return Counter(
            e["body"]["organization"]["services"][0]["uuid"]
            for e in sims.oscar_writes()
            if path_of(e) == UPSERT and e["status"] == 200 and not e["fault"]
        )

    def dropped() -> int:
        return sum(1 for e in sims.oscar_writes() if e["fault"] == "drop")

    log = tmp_path / "loader.log"
    with loader_process(pipeline, target_env, log) as first:
        assert await pipeline.fetch_primero() == CASES

        async def some_loaded() -> bool:
            return sum((await asyncio.to_thread(applied)).values()) >= LOADED_BEFORE_THE_TROUBLE

        await eventually(some_loaded, timeout_s=30, what="the first referrals to load")
        await asyncio.to_thread(
            sims.oscar_control,
            "POST",
            "/faults",
            [
                {"kind": "latency", "path": f"{UPSERT}*", "latency_ms": 300},
                {"kind": "drop", "path": f"{UPSERT}*"},
            ],
        )

        async def in_trouble() -> bool:
            return await asyncio.to_thread(dropped) >= 2

        await eventually(in_trouble, timeout_s=30, what="upserts to be dropped")
        before_kill = await asyncio.to_thread(applied)
        assert sum(before_kill.values()) < CASES, "the batch finished before the kill"
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL

    await asyncio.to_thread(sims.oscar_control, "DELETE", "/faults")

    async def oscar_referrals() -> Counter[str]:
        rows = (await asyncio.to_thread(sims.oscar_control, "GET", "/referrals"))["referrals"]
        return Counter(r["services"][0][0] for r in rows)

    with loader_process(pipeline, target_env, log) as second:

        async def all_settled() -> bool:
            held = await oscar_referrals()
            depth = await asyncio.to_thread(
                pipeline.broker.probe.depth, f"{pipeline.loader_queue('oscar')}.dlq"
            )
            return len(held) + depth >= CASES

        await eventually(all_settled, timeout_s=60, what="every referral loaded or held back")
        await pipeline.settle()
        held = await oscar_referrals()
        assert {k: n for k, n in held.items() if n != 1} == {}, "a referral was sent twice"
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    # The admin looks at the dead letters (metadata only, nothing consumed).
    monkeypatch.setenv("RABBITMQ_URL", pipeline.rabbitmq_url)
    monkeypatch.setenv("TOPOLOGY_PREFIX", pipeline.prefix)
    monkeypatch.setenv("CONTROL_DATABASE_URL", pipeline.store_url("loader-oscar"))
    code, listed = await asyncio.to_thread(
        casebridge, capsys, "dlq", "list", "--queue", "loader.oscar", "--json"
    )
    assert code == 0, listed
    uncertain = json.loads(listed)
    assert uncertain, "the kill landed on no interrupted upsert"
    for letter in uncertain:
        assert "may have reached OSCaR" in letter["reason"]
        assert "--resend" in letter["reason"]
    # For each, the admin reveals which referral it is (audited) and checks OSCaR: some landed
    # before the kill (only the completion was lost), the dropped ones did not.
    service_of: dict[str, str] = {}
    for letter in uncertain:
        code, shown = await asyncio.to_thread(
            casebridge, capsys, "dlq", "show", letter["message_id"]
        )
        assert code == 0, shown
        organization = json.loads(shown)["payload"]["payload"]["organization"]
        service_of[letter["message_id"]] = organization["services"][0]["uuid"]
    assert set(held) | set(service_of.values()) == set(service_ids)  # nothing lost
    missing = [m for m, service in service_of.items() if service not in held]
    for message_id in missing:
        code, out = await asyncio.to_thread(
            casebridge, capsys, "dlq", "replay", message_id, "--resend"
        )
        assert code == 0, out
    # What OSCaR already holds is done: the admin drops those dead letters.
    code, out = await asyncio.to_thread(
        casebridge, capsys, "dlq", "purge", "--queue", "loader.oscar", "--yes"
    )
    assert code == 0, out
    with loader_process(pipeline, target_env, log) as third:

        async def all_loaded() -> bool:
            return len(await oscar_referrals()) == CASES

        await eventually(all_loaded, timeout_s=60, what="the re-sent referrals to load")
        await pipeline.settle()
        third.send_signal(signal.SIGTERM)
        assert third.wait(30) == 0

    counts = await asyncio.to_thread(applied)
    assert set(counts) == set(service_ids)  # nothing lost
    assert {k: n for k, n in counts.items() if n != 1} == {}  # nothing duplicated
    assert sorted((await oscar_referrals()).elements()) == sorted(service_ids)
    assert await pipeline.dead_letters(pipeline.loader_queue("oscar")) == []
    assert (await asyncio.to_thread(pipeline.broker.depths))[pipeline.loader_queue("oscar")] == 0
