"""A local simulator of the UNICEF Primero v2 REST API.

It reproduces the behaviours casebridge clients depend on (auth regimes, index
filters and paging, PATCH merge semantics, referral side effects, error shapes)
as documented in shared/reference/API.md section 1, plus a control surface under
``/__sim/`` for seeding, inspecting writes and injecting faults.
"""

__version__ = "0.1.0"

SIM_PREFIX = "/__sim"
"""Path prefix of the control surface; the real API never serves it."""
