"""deploy/k8s: render the production overlay with `kubectl kustomize` and validate every manifest
against the Kubernetes schemas (kubernetes-validate, offline); KEDA's CRDs against a schema
written from KEDA's documented fields; then the properties the issue asks for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = ["deploy/k8s/base", "deploy/k8s/overlays/production"]
QUEUE_CONSUMERS = {
    "transformer": "cb.transformer",
    **{f"loader-{t}": f"cb.loader.{t}" for t in ("oscar", "primero", "progres", "ona")},
}
SERVICES = {"fetcher-primero", "fetcher-oscar", "inbox", *QUEUE_CONSUMERS}

_NAME_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, "kind": {"type": "string"}},
    "additionalProperties": False,
}

#: keda.sh/v1alpha1 ScaledObject, from https://keda.sh/docs/latest/reference/scaledobject-spec/
#: and the RabbitMQ scaler (https://keda.sh/docs/latest/scalers/rabbitmq-queue/).
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {"type": "object"},
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": _NAME_REF,
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                        "if": {"properties": {"type": {"const": "rabbitmq"}}},
                        "then": {
                            "properties": {
                                "metadata": {
                                    "required": ["queueName", "mode", "value"],
                                    "properties": {
                                        "protocol": {"enum": ["amqp", "http", "auto"]},
                                        "mode": {"enum": ["QueueLength", "MessageRate"]},
                                        "value": {"pattern": r"^[0-9]+(\.[0-9]+)?$"},
                                    },
                                }
                            }
                        },
                    },
                },
            },
        },
    },
}

#: keda.sh/v1alpha1 TriggerAuthentication (secretTargetRef only, which is all we use).
TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["secretTargetRef"],
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": {"type": "string"},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                }
            },
        }
    },
}

CRD_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}


def _render(path: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is required under CI=true to render deploy/k8s")
        pytest.skip("kubectl is not installed here (needed for `kubectl kustomize`)")
    result = subprocess.run(
        [kubectl, "kustomize", str(REPO / path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render(str(request.param))


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return _render("deploy/k8s/overlays/production")


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_manifest_validates(rendered: list[dict[str, Any]]) -> None:
    version = kubernetes_validate.latest_version()
    for doc in rendered:
        if doc["apiVersion"].startswith("keda.sh/"):
            jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])
        else:
            kubernetes_validate.validate(doc, version, strict=True)


def test_no_secret_values_are_rendered(rendered: list[dict[str, Any]]) -> None:
    assert not _of(rendered, "Secret")


def test_deployment_service_pdb_per_service(rendered: list[dict[str, Any]]) -> None:
    assert set(_of(rendered, "Deployment")) == SERVICES
    assert set(_of(rendered, "Service")) == SERVICES
    pdbs = _of(rendered, "PodDisruptionBudget")
    assert set(pdbs) == SERVICES
    for name, deployment in _of(rendered, "Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector


def test_probes_resources_and_non_root(rendered: list[dict[str, Any]]) -> None:
    for name, deployment in _of(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["resources"]["requests"]["cpu"], name
        assert container["resources"]["limits"]["memory"], name


def test_secrets_are_referenced_by_name(rendered: list[dict[str, Any]]) -> None:
    for name, deployment in _of(rendered, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        for key in ("RABBITMQ_URL", *(k for k in env if k.endswith(("PASSWORD", "API_KEY")))):
            assert "secretKeyRef" in env[key]["valueFrom"], f"{name}: {key}"
            assert "value" not in env[key]


def test_transformer_mounts_mapping_overrides_at_mapping_dir(
    rendered: list[dict[str, Any]],
) -> None:
    pod = _of(rendered, "Deployment")["transformer"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mapping_dir = next(e["value"] for e in container["env"] if e["name"] == "MAPPING_DIR")
    volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] in _of(rendered, "ConfigMap")
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == mapping_dir


def test_keda_scales_transformer_and_each_loader_on_its_queue(
    rendered: list[dict[str, Any]],
) -> None:
    scaled = _of(rendered, "ScaledObject")
    auth = _of(rendered, "TriggerAuthentication")
    assert set(scaled) == set(QUEUE_CONSUMERS)
    for name, queue in QUEUE_CONSUMERS.items():
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == queue
        assert trigger["authenticationRef"]["name"] in auth
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
    for name in QUEUE_CONSUMERS:
        assert "replicas" not in _of(rendered, "Deployment")[name]["spec"], "KEDA owns replicas"


def test_production_pins_image_tags(production: list[dict[str, Any]]) -> None:
    for name, deployment in _of(production, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        image = container["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), name
        assert deployment["metadata"]["namespace"] == "casebridge"
