"""Source shapes (issue 12 §3): a wrongly typed field is a dead-letter reason naming the field,
never an AttributeError; random payloads through every flow end only in such reasons, in a
mapping gap, in commands or in a counted skip."""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import PlainValidator

from casebridge.errors import PermanentError
from casebridge.messages import RawRecord, SourceRef
from casebridge.skips import Skipped
from transformer.cambodia import load_tables
from transformer.flows import FlowRouter, packaged_mappers
from transformer.mapping_gap import MappingGap
from transformer.progres import load_progres_tables, map_p1
from transformer.shapes import SHAPES, MalformedRecord, P1Intervention
from transformer.shapes.fields import Shape

FIXTURES = Path(__file__).parent / "fixtures"
FETCHED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SYSTEMS = {"c0": "oscar", "c2": "oscar", "p1": "dtp", "p4": "dtp"}
#: A value no reason may ever quote (it stands for a child's name).
SECRET = "Sokha-Secret"


@pytest.fixture(scope="module")
def router() -> FlowRouter:
    return FlowRouter(packaged_mappers(load_tables()))


def raw(flow: str, payload: dict[str, Any], record_id: str = "123") -> RawRecord:
    system = SYSTEMS.get(flow, "primero")
    record_type = {"oscar": "client", "dtp": "referral"}.get(system, "case")
    record = RawRecord.of(
        flow=flow,
        source=SourceRef(system=system, record_type=record_type, record_id=record_id),
        payload=payload,
        producer="tests",
    )
    return record.model_copy(update={"produced_at": FETCHED_AT})


def sample(name: str, index: int) -> dict[str, Any]:
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    record: dict[str, Any] = document["records"][index]["record"]
    return copy.deepcopy(record)


def test_a_service_row_that_is_a_string_names_its_index(router: FlowRouter) -> None:
    case = sample("primero-cases.json", 1)
    case["services_section"].insert(2, SECRET)
    with pytest.raises(MalformedRecord) as caught:
        router(raw("c1", case))
    assert str(caught.value) == (
        "primero case 123: services_section[2]: expected an object, got a text"
    )
    assert isinstance(caught.value, PermanentError), "dead-lettered at once"


@pytest.mark.parametrize(
    ("flow", "payload", "reason"),
    [
        (
            "c0",
            {"external_id": {"x": SECRET}},
            "external_id: expected a text, number or boolean, got an object",
        ),
        (
            "c1",
            {"case_id": "c", "name_first": [SECRET]},
            "name_first: expected a text, number or boolean, got a list",
        ),
        ("c1", {"case_id": "c", "referrals": SECRET}, "referrals: expected a list, got a text"),
        (
            "c1",
            {"case_id": "c", "services_section": [{"service_subtype": {"a": SECRET}}]},
            "service_subtype: expected a text or a list of texts, got an object",
        ),
        (
            "c2",
            {"global_id": "g", "services": [{"uuid": [SECRET]}]},
            "services[0].uuid: expected a text, number or boolean, got a list",
        ),
        (
            "c2",
            {"global_id": "g", "gender": {"x": 1}},
            "gender: expected a text, number or boolean, got an object",
        ),
        (
            "o1",
            {"case_id_display": "c", "protection_concerns": SECRET},
            "protection_concerns: expected a list, got a text",
        ),
        (
            "p2",
            {"case_id": "c", "services_section": [{"unhcr_referral_status": ["accepted"]}]},
            "[0].unhcr_referral_status: expected a text, number or boolean, got a list",
        ),
        ("p3", {"case_id": "c", "user": SECRET}, "user: expected an object, got a text"),
        (
            "p3",
            {"case_id": "c", "language": [{"x": SECRET}]},
            "language: expected a text or a list of texts, got a list",
        ),
        ("p1", {"interventions": [7]}, "interventions[0]: expected an object, got a number"),
        (
            "p4",
            {"interventions": [{"progres_reviewdecision": [SECRET]}]},
            "[0].progres_reviewdecision: expected a text, number or boolean, got a list",
        ),
    ],
)
def test_a_wrong_type_is_a_field_reason_for_every_flow(
    router: FlowRouter, flow: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedRecord) as caught:
        router(raw(flow, payload))
    assert reason in str(caught.value)
    assert SECRET not in str(caught.value)


def test_every_wrong_field_is_named_at_once(router: FlowRouter) -> None:
    case = {"case_id": "c", "sex": ["f"], "services_section": [{}, {"unique_id": {}}, "x"]}
    with pytest.raises(MalformedRecord) as caught:
        router(raw("c1", case))
    assert str(caught.value) == (
        "primero case 123: sex: expected a text, number or boolean, got a list;"
        " services_section[1].unique_id: expected a text, number or boolean, got an object;"
        " services_section[2]: expected an object, got a text"
    )


def test_nulls_and_extra_fields_are_tolerated(router: FlowRouter) -> None:
    case = sample("primero-cases.json", 1)
    case |= {"name_first": None, "referrals": None, "an_unknown_field": {"deep": [1, {}]}}
    assert router(raw("c1", case)) is not None


def test_a_wrongly_typed_p1_intervention_is_fed_back_and_the_others_go_on() -> None:
    """P1 answers each intervention (one bad one never blocks the rest): a wrong type is the
    "invalid data" Delivery Fail, with the field named."""
    webhook = sample("progres-referrals.json", 0)
    good = webhook["interventions"][0]
    bad = copy.deepcopy(good) | {
        "progres_interventionnumber": "IN-BAD",
        "individuals.progres_sex": {"Name": SECRET},
    }
    webhook["interventions"].append(bad)

    commands = map_p1(raw("p1", webhook), load_progres_tables())

    by_operation = {c.operation: c for c in commands}
    assert set(by_operation) == {"progres_case_upsert", "feedback"}
    feedback = by_operation["feedback"]
    assert feedback.key == {"progres_interventionnumber": "IN-BAD"}
    assert feedback.payload["body"]["closure_reason"].startswith(
        "Intervention referral has provided invalid data"
    )
    assert feedback.payload["reason"] == (
        "invalid data (TypeError) in intervention IN-BAD: individuals.progres_sex:"
        " expected a text, number or boolean, got an object"
    )
    assert SECRET not in json.dumps(feedback.payload)


# --- fuzz: random JSON shaped like each flow's record --------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what JSON on the wire holds (orjson)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
#: Values of the right kind, from the vocabularies the tables read, so mappings go deep.
_plausible_scalar = st.sampled_from(
    [
        None, "", "x", "0", "12", "²", "1.5", " 7 ", "NaN", "agency-cif", "referral_to_oscar",
        "referral_from_oscar", "in_progress", "accepted", "rejected", "external_referral",
        "UNHCR", "primero", "high", "no_action", "2015-1-5", "2020/07/05 00:40:00",
        "2015-02-30", "0102030405", "a#123456789012", "abc#1", True, False, 0, 7, 1.0, 2.5,
        "00000000-0000-0000-0000-000000000001", "Child Protection", "male", "F",
    ]
)  # fmt: skip


def _mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good`, and one time in 30 any JSON: records are mostly well typed, so the mappings run
    deep, and a wrong type still turns up in most records of many fields."""
    return st.integers(0, 29).flatmap(lambda n: _json if n == 0 else good)


def _value_for(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """A strategy for a field of a shape: values of its kind, sometimes any JSON."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union) and len(args) == 1:
        return _value_for(args[0], metadata)
    if origin is list:
        [item] = typing.get_args(annotation)
        return _mostly(st.lists(_value_for(item, []), max_size=3))
    if isinstance(annotation, type) and issubclass(annotation, Shape):
        return _mostly(_record(annotation))
    kind = {m.func.__name__ for m in metadata if isinstance(m, PlainValidator)}
    if "_scalars" in kind:
        return _mostly(_plausible_scalar | st.lists(_plausible_scalar, max_size=2))
    if "_reference" in kind:
        return _mostly(_plausible_scalar | st.fixed_dictionaries({"Name": _plausible_scalar}))
    return _mostly(_plausible_scalar)


def _record(shape: type[Shape]) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        (field.alias or name): _value_for(field.annotation, field.metadata)
        for name, field in shape.model_fields.items()
    }
    return st.fixed_dictionaries({}, optional=fields)


#: One strategy per flow (built once: building is slow); P1 interventions are read whole by
#: the mapping, so they are drawn with every key it reads.
_RECORDS = {flow: _record(shape) for flow, shape in SHAPES.items()}
_RECORDS["p1"] = st.fixed_dictionaries(
    {}, optional={"interventions": st.lists(_record(P1Intervention), max_size=3) | _json}
)
_REASON = re.compile(r"^\S+ \S+ 123: ([\w.\[\]]+: expected [^;]+, got [^;]+)(; .+)*$")


@pytest.mark.parametrize("flow", sorted(SHAPES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_records_end_in_commands_a_skip_or_a_field_reason(
    router: FlowRouter, flow: str, data: st.DataObject
) -> None:
    payload = data.draw(_RECORDS[flow])
    outcome = _outcome(router, raw(flow, payload))
    assert outcome == "output" or _REASON.match(outcome) or outcome.startswith("gap:"), outcome


def _outcome(router: FlowRouter, record: RawRecord) -> str:
    """ "output" (commands or a `Skipped`), "gap: <reason>" or the field reason; anything else
    (an AttributeError, a TypeError) fails the test."""
    try:
        result = router(record)
    except MalformedRecord as exc:
        return str(exc)
    except MappingGap as exc:
        return f"gap: {exc}"
    return "output" if len(result) > 0 or isinstance(result, Skipped) else "silent empty"


@pytest.mark.parametrize(
    ("flow", "payload"),
    [
        ("c1", {"case_id": "x", "oscar_number": 7}),  # a number as a command key
        ("c2", {"global_id": "x", "location_current_village_code": "²"}),  # isdigit, not int
        (
            "c1",
            {
                "case_id": "x",
                "services_section": [
                    {
                        "service_response_type": "referral_from_oscar",
                        "referral_status_edf41f2": "accepted_340110",
                        "oscar_referral_id_a4ac8a5": "1²",
                    }
                ],
            },
        ),
        ("o1", {"case_id_display": "x", "age": "²"}),
    ],
)
def test_values_the_fuzz_found_map_or_give_a_gap(
    router: FlowRouter, flow: str, payload: dict[str, Any]
) -> None:
    outcome = _outcome(router, raw(flow, payload))
    assert outcome == "output" or outcome.startswith("gap: "), outcome
