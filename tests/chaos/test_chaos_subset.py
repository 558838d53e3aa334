"""The short chaos subset of `make test` (the whole matrix is `make chaos`): no fault, SIGKILL of
the OSCaR loader, a PostgreSQL restart and a broker kill -9, each on a private node and cluster,
every service its own process. Every row must lose nothing, write nothing twice, dead-letter only
with true reasons and recover without a manual step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from casebridge.testing.private_postgres import PrivatePostgres
from casebridge.testing.private_rabbitmq import PrivateRabbitMQ

from .matrix import SUBSET, failures, run_matrix, table

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(420)]

CASES = 80


async def test_the_chaos_subset_loses_nothing_and_duplicates_nothing(
    own_rabbitmq: PrivateRabbitMQ, own_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    results = await asyncio.to_thread(
        run_matrix, SUBSET, CASES, 7, 120.0, tmp_path, own_rabbitmq, own_postgres
    )
    printed = table(results)
    print(printed)
    assert [r.row for r in results] == list(SUBSET)
    assert failures(results) == [], printed
    for result in results:
        for flow in result.flows:
            assert flow.expected > 0, printed
            # every expected effect is in its target, or dead-lettered as uncertain
            assert flow.exactly_once + flow.uncertain >= flow.expected, printed
