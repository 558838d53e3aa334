"""Source record shapes: what each flow's mapping reads, checked where records enter the
transformer, so a wrong type is a field-level dead-letter reason and never a crash."""

from __future__ import annotations

from collections.abc import Mapping

from casebridge.messages import RawRecord
from transformer.shapes.dtp import P1Intervention, P1Webhook, P4Webhook
from transformer.shapes.fields import MalformedRecord, Shape, check, violations
from transformer.shapes.oscar import C0Client, C2Client
from transformer.shapes.primero import C1Case, O1Case, P2Case, P3Case

#: The shape of each flow's raw record payload.
SHAPES: Mapping[str, type[Shape]] = {
    "c0": C0Client,
    "c1": C1Case,
    "c2": C2Client,
    "o1": O1Case,
    "p1": P1Webhook,
    "p2": P2Case,
    "p3": P3Case,
    "p4": P4Webhook,
}


def check_shape(raw: RawRecord) -> None:
    """Raise `MalformedRecord` when the payload does not have its flow's shape (a flow
    without a shape passes)."""
    shape = SHAPES.get(raw.flow)
    if shape is not None:
        source = raw.source
        check(shape, raw.payload, f"{source.system} {source.record_type} {source.record_id}")


__all__ = ["SHAPES", "MalformedRecord", "P1Intervention", "check_shape", "violations"]
