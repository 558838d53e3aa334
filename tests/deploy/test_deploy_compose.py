"""docker-compose.yml: `docker compose config` where the docker client with compose exists, and a
structural check that always runs (health, dependencies, Dockerfiles, variables in .env.example).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
LOADER_TARGETS = {"oscar", "primero", "progres", "ona"}

#: `${VAR}`, `${VAR:-default}`, `${VAR?err}` … but not the escaped `$${VAR}`.
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False, timeout=30
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def env_example() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("=", 1)[0])
    return names


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    if not _compose_available():
        pytest.skip("the docker client with the compose plugin is not installed here")
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_every_service_is_healthchecked_or_waits_for_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name conditions"
        for dep, rule in depends.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert rule.get("condition") == "service_healthy", f"{name} -> {dep}"
            assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has no check"
        assert "healthcheck" in service or depends, f"{name}: no healthcheck and no healthy deps"
        if "healthcheck" in service:
            assert service["healthcheck"].get("test"), f"{name}: empty healthcheck"


def test_infrastructure_and_every_service_present(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("fetcher-primero", "fetcher-oscar", "inbox", "transformer"):
        assert name in services
    for name in ("primero-api-sim", "oscar-api-sim", "dtp-sim"):
        assert name in services
    targets = {
        s["environment"]["LOADER_TARGET"]
        for s in services.values()
        if "LOADER_TARGET" in s.get("environment", {})
    }
    assert targets == LOADER_TARGETS


def test_postgres_init_script_creates_control_and_ona(compose: dict[str, Any]) -> None:
    mounts = compose["services"]["postgres"]["volumes"]
    scripts = [m.split(":")[0] for m in mounts if "docker-entrypoint-initdb.d" in m]
    assert scripts
    text = (REPO / scripts[0]).read_text()
    assert "control" in text
    assert "ona" in text


def test_every_built_image_has_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    used = set()
    for name, service in compose["services"].items():
        if "build" not in service:
            assert not str(service["image"]).startswith("casebridge/"), f"{name} is never built"
            continue
        build = service["build"]
        assert build["context"] == ".", f"{name}: build context must be the repo root"
        dockerfile = REPO / build["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        used.add(dockerfile.parent.relative_to(REPO).as_posix())
    packages = {
        f"{kind}/{p.name}"
        for kind in ("services", "simulators")
        for p in (REPO / kind).iterdir()
        if p.is_dir() and p.name != "simkit"
    }
    assert used == packages


def test_referenced_variables_are_in_env_example(
    compose: dict[str, Any], env_example: set[str]
) -> None:
    referenced = set(_VARIABLE.findall(COMPOSE.read_text()))
    referenced |= {
        s["environment"] for s in compose.get("secrets", {}).values() if "environment" in s
    }
    missing = referenced - env_example
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_secrets_are_defined_and_reach_services_as_files(compose: dict[str, Any]) -> None:
    defined = set(compose.get("secrets", {}))
    for name, service in compose["services"].items():
        for secret in service.get("secrets", []):
            assert secret in defined, f"{name} uses undefined secret {secret}"
        for key, value in service.get("environment", {}).items():
            if key.endswith("_FILE"):
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in service.get("secrets", []), f"{name}: {key} has no secret"
            assert not re.search(r"(PASSWORD|API_KEY)$", key), f"{name}: {key} in plain env"
