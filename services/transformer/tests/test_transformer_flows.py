"""The flow router with the packaged Cambodia mappers."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.errors import PermanentError
from casebridge.testing.builders import a_raw_record
from transformer.cambodia import CambodiaTables
from transformer.flows import FlowRouter, packaged_mappers
from transformer.mapping_gap import MappingGap


def test_packaged_mappers_cover_the_cambodia_flows(tables: CambodiaTables) -> None:
    assert {"c0", "c1", "c2", "o1"} <= set(FlowRouter(packaged_mappers(tables)).flows)


def test_router_maps_a_c1_case(
    primero_cases: list[dict[str, Any]], tables: CambodiaTables, as_case: Any
) -> None:
    commands = FlowRouter(packaged_mappers(tables))(as_case(primero_cases[1]))
    assert [c.operation for c in commands] == ["client_upsert", "client_upsert", "update_statuses"]


def test_a_mapping_gap_is_permanent_so_the_consumer_dead_letters_it(
    tables: CambodiaTables,
) -> None:
    router = FlowRouter(packaged_mappers(tables))
    with pytest.raises(MappingGap) as caught:
        router(a_raw_record({"id": "x"}, flow="c1"))
    assert isinstance(caught.value, PermanentError)


def test_unknown_flow_is_permanent(tables: CambodiaTables) -> None:
    with pytest.raises(PermanentError, match="no mapping for flow 'p9'"):
        FlowRouter(packaged_mappers(tables))(a_raw_record(flow="p9"))
