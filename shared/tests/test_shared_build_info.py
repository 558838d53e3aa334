"""`casebridge_build_info`: the running service, its version and the shared library's."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, generate_latest

from casebridge.build_info import publish_build_info


def test_build_info_names_the_service_and_the_installed_versions(monkeypatch):
    monkeypatch.setenv("CASEBRIDGE_REVISION", "abc1234")
    registry = CollectorRegistry()
    publish_build_info("loader", registry)
    publish_build_info("loader", registry)  # a second start in one process: no duplicate error
    labels = {
        "service": "loader",
        "version": "0.1.0",
        "casebridge_version": "0.1.0",
        "python_version": platform.python_version(),
        "revision": "abc1234",
    }
    assert registry.get_sample_value("casebridge_build_info", labels) == 1
    assert generate_latest(registry).count(b"casebridge_build_info{") == 1


def test_an_unknown_distribution_reports_unknown_not_a_crash():
    registry = CollectorRegistry()
    publish_build_info("not-installed-anywhere", registry)
    text = generate_latest(registry).decode()
    assert 'service="not-installed-anywhere"' in text
    assert 'version="unknown"' in text
