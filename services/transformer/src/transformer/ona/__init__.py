"""Primero -> ONA dashboard database (flow O1): a pure mapping over validated lookup tables."""

from transformer.ona.flow_o1 import district_key, map_o1
from transformer.ona.tables import OnaTables, load_ona_tables

__all__ = ["OnaTables", "district_key", "load_ona_tables", "map_o1"]
