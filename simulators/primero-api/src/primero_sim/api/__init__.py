"""HTTP routes of the simulated ``/api/v2`` surface, one module per resource."""
