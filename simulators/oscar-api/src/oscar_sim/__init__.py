"""Stateful simulator of the OSCaR interop API (oscar-web ``api/v1/organizations/*``).

Faithful to ``shared/reference/API.md`` §2: devise_token_auth sign-in, the two-shape
``/clients`` feed, upsert branches, update_links and update_statuses, plus a ``/__sim``
control surface for tests (reset, seed, journal, faults, clock).
"""

__version__ = "0.1.0"
