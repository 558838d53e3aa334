"""UNICEF Cambodia flows (Primero <-> OSCaR): pure mappings over validated lookup tables."""

from transformer.cambodia.flow_c0 import map_c0
from transformer.cambodia.flow_c1 import map_c1
from transformer.cambodia.flow_c2 import map_c2
from transformer.cambodia.tables import CambodiaTables, load_tables
from transformer.table_files import MappingTableError

__all__ = ["CambodiaTables", "MappingTableError", "load_tables", "map_c0", "map_c1", "map_c2"]
