"""UNICEF Gambella flows (Primero <-> UNHCR proGres v4 through DTP): pure mappings P1-P4."""

from transformer.progres.flow_p1 import map_p1, service_unique_id
from transformer.progres.flow_p2 import map_p2
from transformer.progres.flow_p3 import dtp_referral_id, map_p3
from transformer.progres.flow_p4 import map_p4
from transformer.progres.tables import ProgresTables, load_progres_tables

__all__ = [
    "ProgresTables",
    "dtp_referral_id",
    "load_progres_tables",
    "map_p1",
    "map_p2",
    "map_p3",
    "map_p4",
    "service_unique_id",
]
