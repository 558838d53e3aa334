"""deploy/monitoring: the alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`: each alert fires on its trigger and not on the healthy twin); the
PrometheusRule holds the very same groups; the dashboard has one row per flow and queries only
metrics the services (or RabbitMQ) export.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
RULES = MONITORING / "casebridge.rules.yaml"
#: Every fetch flow label (fetcher-primero's FETCH_FLOWS, fetcher-oscar's one query).
FLOWS = {"c0+c2", "c1", "o1", "p2", "p3"}
ALERTS = {
    "CasebridgeDeadLetterQueueGrowing",
    "CasebridgeMessagesDeadLettered",
    "CasebridgeFetchPassMissing",
    "CasebridgeBreakerOpen",
    "CasebridgeCursorLagHigh",
}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("promtool is required under CI=true (.ci/run installs Debian's prometheus)")
        pytest.skip("promtool is not installed here (apt-get install prometheus)")
    return found


def _run(*args: str) -> str:
    result = subprocess.run(
        [_promtool(), *args], cwd=MONITORING, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_the_rules_file_passes_promtool_check() -> None:
    assert "SUCCESS: 5 rules found" in _run("check", "rules", RULES.name)


def test_every_alert_fires_on_its_trigger_in_promtool_unit_tests() -> None:
    assert "SUCCESS" in _run("test", "rules", "alerts.test.yaml")
    tested = set(re.findall(r"alertname: (\w+)", (MONITORING / "alerts.test.yaml").read_text()))
    assert tested == ALERTS


def test_the_prometheus_rule_holds_the_rules_file_groups(tmp_path: Path) -> None:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["name"] == "casebridge"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    extracted = tmp_path / "from-prometheusrule.yaml"
    extracted.write_text(yaml.safe_dump(rule["spec"]))
    assert "SUCCESS: 5 rules found" in _run("check", "rules", str(extracted))
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert alerts == ALERTS


def _exprs(panels: list[dict[str, Any]]) -> list[str]:
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def _exported_metrics() -> set[str]:
    """casebridge_* names created in the services' and the shared library's sources."""
    names: set[str] = set()
    for source in [*REPO.glob("shared/src/**/*.py"), *REPO.glob("services/*/src/**/*.py")]:
        names |= set(re.findall(r'"(casebridge_[a-z_]+)"', source.read_text()))
    return names


def test_the_dashboard_has_a_row_per_flow_and_queries_exported_metrics() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    panels = dashboard["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    assert {re.match(r"Flow (\S+):", r).group(1) for r in rows if r.startswith("Flow ")} == FLOWS  # type: ignore[union-attr]
    exported = _exported_metrics()
    # Counters and histograms are exported with their suffixes.
    suffixes = ("_total", "_bucket", "_count", "_sum")
    for expr in _exprs(panels):
        for name in re.findall(r"\b(casebridge_[a-z_]+)", expr):
            base = next((name.removesuffix(s) for s in suffixes if name.endswith(s)), name)
            assert name in exported or base in exported, f"{name} is not exported ({expr})"
    for rule in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]:
        for name in re.findall(r"\b(casebridge_[a-z_]+)", rule["expr"]):
            base = next((name.removesuffix(s) for s in suffixes if name.endswith(s)), name)
            assert name in exported or base in exported, f"{name} is not exported"
