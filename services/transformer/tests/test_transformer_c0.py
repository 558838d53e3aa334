"""Flow C0 (OSCaR ids -> Primero): only clients already linked to a Primero case."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.skips import Skipped
from transformer.cambodia import CambodiaTables, map_c0
from transformer.mapping_gap import MappingGap


def test_linked_client_updates_its_primero_case_with_the_oscar_ids(
    oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
) -> None:
    [command] = map_c0(as_client(oscar_clients[4], flow="c0"), tables)

    assert (command.target, command.operation) == ("primero", "case_update")
    assert command.key == {"case_id": "173d7ad5-28f8-4343-a3df-dc6d85b38276"}
    assert command.payload == {
        "data": {
            "case_id": "173d7ad5-28f8-4343-a3df-dc6d85b38276",
            "case_id_display": "5b38276",
            "oscar_number": "01EDN2N13KJQYZJDNNJE68XDQY",
            "oscar_short_id": "abc-1234",
            "mosvy_number": "",
        }
    }
    assert command.mapping_version == tables.version


def test_unlinked_clients_yield_nothing(
    oscar_clients: list[dict[str, Any]], tables: CambodiaTables, as_client: Any
) -> None:
    """The old filter dropped every record; the intended one drops only unlinked clients."""
    produced = [map_c0(as_client(client, flow="c0"), tables) for client in oscar_clients[:4]]
    assert all(isinstance(p, Skipped) and not p for p in produced)
    assert {p.outcome for p in produced} == {"skipped_not_applicable"}
    assert "is not linked to a Primero case" in produced[0].detail
    assert oscar_clients[0]["global_id"] in produced[0].detail


def test_blank_display_id_is_omitted_and_absent_fields_are_not_sent(
    tables: CambodiaTables, as_client: Any
) -> None:
    client = {"global_id": "01H", "external_id": "c-1", "external_id_display": ""}
    [command] = map_c0(as_client(client, flow="c0"), tables)
    assert command.payload == {"data": {"case_id": "c-1", "oscar_number": "01H"}}


def test_linked_client_without_global_id_is_a_gap(tables: CambodiaTables, as_client: Any) -> None:
    with pytest.raises(MappingGap, match="linked to case c-1 has no global_id"):
        map_c0(as_client({"external_id": "c-1", "given_name": "X"}, flow="c0"), tables)
