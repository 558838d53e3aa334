"""`FilterIgnored`: a record that a filter excludes shows Primero dropped the filter."""

from __future__ import annotations

import pytest

from casebridge.clients.primero_filters import FilterIgnored, check_records, unmet_filter

QUERY_A = {"record_state": "true", "type_of_case": "children_undergoing_reintegration_55427"}


def test_a_record_without_the_field_means_the_role_cannot_read_it() -> None:
    problem = unmet_filter({"id": "x"}, {"oscar_number": "01GA"}, exact_values=False)
    assert isinstance(problem, FilterIgnored)
    assert str(problem) == (
        "Primero ignored the filter on oscar_number: the API user's role cannot read that field"
    )


def test_a_matching_record_passes_and_paging_keys_are_not_filters() -> None:
    record = {
        "record_state": True,
        "type_of_case": QUERY_A["type_of_case"],
        "age": 18,
        "last_updated_at": "2025-03-01T00:00:00.000Z",
    }
    assert unmet_filter(record, {**QUERY_A, "order_by": "last_updated_at", "per": "1000"}) is None
    assert (
        unmet_filter(record, {"age": "0..18", "last_updated_at": "2025-01-01T00:00:00Z.."}) is None
    )


def test_a_differing_value_counts_only_with_exact_values() -> None:
    record = {"record_state": True, "type_of_case": "other", "oscar_number": "01GA-2"}
    problem = unmet_filter(record, QUERY_A)
    assert problem is not None
    assert problem.field == "type_of_case"
    assert not problem.unreadable
    assert unmet_filter(record, {"oscar_number": "01GA"}, exact_values=False) is None
    assert unmet_filter({"age": 19}, {"age": "0..18"}) is not None
    assert unmet_filter({"age": "12"}, {"age": "0..18"}) is None
    assert unmet_filter({"record_state": False}, {"record_state": "true"}) is not None
    assert unmet_filter({"status": "open"}, {"status": "open,closed"}) is None
    assert unmet_filter({"tags": ["a", "b"]}, {"tags": "b"}) is None


def test_check_records_raises_for_the_first_offender() -> None:
    check_records([{"oscar_number": "1"}], {"oscar_number": "1"})
    with pytest.raises(FilterIgnored, match="oscar_number"):
        check_records([{"oscar_number": "1"}, {"id": "y"}], {"oscar_number": "1"})
