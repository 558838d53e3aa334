"""The topology as data: names, explicit arguments, retry tiers, routing, topic matching."""

from __future__ import annotations

import pytest

from casebridge.memory.broker import topic_matches
from casebridge.messages import Envelope
from casebridge.testing.builders import a_raw_record, an_upsert_command
from casebridge.topology import (
    DEFAULT_RETRY_DELAYS,
    BindingSpec,
    build_topology,
    dead_letter_queue_name,
    loader_queue,
    retry_queue_name,
    transformer_queue,
)

DELAYS = (0.05, 0.1, 0.2)


def _specs(queue: str, **kwargs: object) -> dict[str, dict[str, object]]:
    topology = build_topology("cb", targets=("sink",), retry_delays=DELAYS, **kwargs)  # type: ignore[arg-type]
    return {s.name: dict(s.arguments) for s in topology.work_queue(queue).queues()}


@pytest.mark.parametrize(
    ("delay", "name"),
    [
        (5.0, "cb.loader.oscar.retry.5s"),
        (600, "cb.loader.oscar.retry.600s"),
        (0.05, "cb.loader.oscar.retry.50ms"),
        (1.5, "cb.loader.oscar.retry.1500ms"),
    ],
)
def test_retry_tiers_are_named_by_their_delay(delay, name):
    assert retry_queue_name("cb.loader.oscar", delay) == name


def test_queue_names_follow_the_prefix():
    assert transformer_queue("cb") == "cb.transformer"
    assert loader_queue("cb", "oscar") == "cb.loader.oscar"
    assert dead_letter_queue_name("cb.loader.oscar") == "cb.loader.oscar.dlq"
    topology = build_topology("t1", targets=("sink",))
    assert set(topology.work_queues) == {"t1.transformer", "t1.loader.sink"}
    assert topology.work_queue("t1.loader.sink").dlq == "t1.loader.sink.dlq"
    assert (topology.raw_exchange, topology.command_exchange, topology.dead_letter_exchange) == (
        "t1.raw",
        "t1.commands",
        "t1.dlx",
    )


def test_the_default_topology_has_a_loader_per_shipped_target_and_five_tiers():
    topology = build_topology()
    assert set(topology.work_queues) == {
        "cb.transformer",
        "cb.loader.oscar",
        "cb.loader.primero",
        "cb.loader.progres",
        "cb.loader.ona",
    }
    assert len(topology.queues()) == 5 * (1 + len(DEFAULT_RETRY_DELAYS) + 1)


def test_a_quorum_work_queue_has_explicit_dead_lettering_and_a_delivery_limit():
    args = _specs("cb.loader.sink", delivery_limit=7)["cb.loader.sink"]
    assert args == {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": "cb.dlx",
        "x-dead-letter-routing-key": "cb.loader.sink",
        "x-delivery-limit": 7,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def test_a_classic_work_queue_still_dead_letters_but_has_no_delivery_limit():
    args = _specs("cb.loader.sink", queue_type="classic")["cb.loader.sink"]
    assert args["x-queue-type"] == "classic"
    assert args["x-dead-letter-exchange"] == "cb.dlx"
    assert "x-delivery-limit" not in args


def test_retry_tiers_are_ttl_queues_that_dead_letter_back_into_the_work_queue():
    specs = _specs("cb.transformer")
    assert list(specs) == [
        "cb.transformer",
        "cb.transformer.retry.50ms",
        "cb.transformer.retry.100ms",
        "cb.transformer.retry.200ms",
        "cb.transformer.dlq",
    ]
    for delay, name in zip(DELAYS, list(specs)[1:4], strict=True):
        assert specs[name] == {
            "x-queue-type": "classic",
            "x-message-ttl": round(delay * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "cb.transformer",
        }


def test_the_dlq_is_a_lazy_classic_queue_bound_on_the_dead_letter_exchange():
    topology = build_topology("cb", targets=("sink",))
    assert _specs("cb.loader.sink")["cb.loader.sink.dlq"] == {
        "x-queue-type": "classic",
        "x-queue-mode": "lazy",
    }
    bindings = topology.bindings()
    assert BindingSpec("cb.loader.sink.dlq", "cb.dlx", "cb.loader.sink") in bindings
    assert BindingSpec("cb.transformer.dlq", "cb.dlx", "cb.transformer") in bindings
    assert BindingSpec("cb.transformer", "cb.raw", "#") in bindings
    assert BindingSpec("cb.loader.sink", "cb.commands", "sink") in bindings
    assert len(bindings) == 4


def test_exchanges_are_topic_for_raw_and_direct_for_commands_and_dead_letters():
    topology = build_topology("cb")
    assert {(e.name, e.type) for e in topology.exchanges} == {
        ("cb.raw", "topic"),
        ("cb.commands", "direct"),
        ("cb.dlx", "direct"),
    }


@pytest.mark.parametrize(
    ("attempt", "tier"),
    [(0, 0.05), (1, 0.05), (2, 0.1), (3, 0.2), (4, 0.2), (50, 0.2)],
)
def test_the_nth_retry_waits_in_the_nth_tier_and_later_ones_in_the_last(attempt, tier):
    wq = build_topology("cb", retry_delays=DELAYS).work_queue("cb.transformer")
    assert wq.retry_queue_for_attempt(attempt) == (retry_queue_name("cb.transformer", tier), tier)


@pytest.mark.parametrize(
    ("retry_after", "tier"),
    [(0, 0.05), (0.05, 0.05), (0.06, 0.1), (0.1, 0.1), (0.15, 0.2), (30, 0.2)],
)
def test_retry_after_picks_the_shortest_tier_that_waits_long_enough(retry_after, tier):
    wq = build_topology("cb", retry_delays=DELAYS).work_queue("cb.transformer")
    assert wq.retry_queue_for(retry_after) == (retry_queue_name("cb.transformer", tier), tier)


def test_raw_records_route_by_flow_and_system_and_commands_by_target():
    topology = build_topology("cb")
    raw = a_raw_record(flow="c2", system="oscar")
    assert topology.route(raw) == ("cb.raw", "c2.oscar")
    assert topology.route(an_upsert_command(target="primero")) == ("cb.commands", "primero")


def test_a_message_type_without_a_route_is_refused():
    stray = Envelope.model_construct(message_id="m")
    with pytest.raises(ValueError, match="no route"):
        build_topology("cb").route(stray)


def test_an_unknown_work_queue_is_a_key_error():
    with pytest.raises(KeyError):
        build_topology("cb").work_queue("cb.loader.nowhere")


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("#", "c1.primero", True),
        ("#", "", True),
        ("c1.*", "c1.primero", True),
        ("c1.*", "c1", False),
        ("c1.*", "c1.primero.case", False),
        ("*.primero", "c2.primero", True),
        ("*.primero", "c2.oscar", False),
        ("c1.#", "c1", True),
        ("c1.#", "c1.a.b", True),
        ("#.case", "c1.primero.case", True),
        ("#.case", "case", True),
        ("#.case", "c1.primero", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        ("c1.primero", "c1.primero", True),
        ("c1.primero", "c1.oscar", False),
    ],
)
def test_topic_patterns_match_like_amqp(pattern, key, matches):
    assert topic_matches(pattern, key) is matches
