"""`casebridge_build_info`: which build of which service a scrape came from (always 1).

The version comes from the installed distribution; the revision from `CASEBRIDGE_REVISION`,
which an image build sets (a checkout has none: `unknown`).
"""

from __future__ import annotations

import os
import platform
import weakref
from importlib import metadata

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

#: The distribution of the shared library (the services' own have their service's name).
SHARED_DISTRIBUTION = "casebridge-shared"
_GAUGES: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = weakref.WeakKeyDictionary()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def publish_build_info(service: str, registry: CollectorRegistry = REGISTRY) -> Gauge:
    """Set the gauge for `service` on `registry` (created once: Prometheus refuses duplicates)."""
    gauge = _GAUGES.get(registry)
    if gauge is None:
        gauge = _GAUGES[registry] = Gauge(
            "casebridge_build_info",
            "Build of the running service: its version, the shared library's, Python's, the"
            " source revision (value is always 1).",
            ["service", "version", "casebridge_version", "python_version", "revision"],
            registry=registry,
        )
    gauge.labels(
        service=service,
        version=_version(service),
        casebridge_version=_version(SHARED_DISTRIBUTION),
        python_version=platform.python_version(),
        revision=os.environ.get("CASEBRIDGE_REVISION", "").strip() or "unknown",
    ).set(1)
    return gauge
