"""The shared machinery of casebridge's API simulators.

One concept per module: ``serving`` (uvicorn on a socket we own, in a thread or in the
foreground, Nagle disabled), ``connections`` (live transports, so a fault can drop one),
``faults`` (seeded per-route fault rules), ``journal`` (the ordered record of writes),
``interception`` (the ASGI middleware that journals and applies faults), ``app``
(composition of the two), ``clock`` (a freezable clock), ``responses`` and ``control``
(helpers for the ``/__sim`` surface).
"""
