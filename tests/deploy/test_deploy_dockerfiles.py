"""Every service and simulator has a Dockerfile whose COPY sources exist and that builds only
its own package (and the library it needs) from the repo root.

Images cannot be built on this project's machines (no Docker engine), so this is the check that
keeps the Dockerfiles honest: paths, package names and console scripts against the workspace.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: package folder -> the workspace library folder its image copies besides itself.
PACKAGES = {
    **{f"services/{p.name}": "shared" for p in (REPO / "services").iterdir() if p.is_dir()},
    **{
        f"simulators/{p.name}": "simulators/simkit"
        for p in (REPO / "simulators").iterdir()
        if p.is_dir() and p.name != "simkit"
    },
}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def project(folder: str) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]


@pytest.fixture(params=sorted(PACKAGES), ids=lambda p: p)
def package(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_package_has_a_dockerfile(package: str) -> None:
    assert (REPO / package / "Dockerfile").is_file()


def test_copy_sources_exist(package: str) -> None:
    copies = [args for kw, args in instructions(REPO / package / "Dockerfile") if kw == "COPY"]
    local = [shlex.split(a) for a in copies if not a.startswith("--from")]
    assert local, "no COPY from the build context"
    for words in local:
        sources = [w for w in words[:-1] if not w.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), f"{package}/Dockerfile copies missing {source}"


def test_copies_only_its_package_and_library(package: str) -> None:
    copies = [
        shlex.split(a) for kw, a in instructions(REPO / package / "Dockerfile") if kw == "COPY"
    ]
    sources = {
        w.rstrip("/") for words in copies if not words[0].startswith("--from") for w in words[:-1]
    }
    assert sources == {"pyproject.toml", "uv.lock", PACKAGES[package], package}


def test_syncs_its_own_package_then_non_editable(package: str) -> None:
    name = project(package)["name"]
    runs = [a for kw, a in instructions(REPO / package / "Dockerfile") if kw == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert len(syncs) == 2
    deps, code = syncs
    for flag in ("--frozen", "--no-install-workspace", "--no-dev", f"--package {name}"):
        assert flag in deps
    for flag in ("--frozen", "--no-dev", "--no-editable", f"--package {name}"):
        assert flag in code


def test_runtime_stage_is_slim_non_root_with_healthcheck_and_script(package: str) -> None:
    steps = instructions(REPO / package / "Dockerfile")
    froms = [i for i, (kw, _) in enumerate(steps) if kw == "FROM"]
    assert len(froms) == 2, "multi-stage: build, runtime"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in {f"{kw} {a}" for kw, a in steps}
    runtime = steps[froms[1] :]
    keywords = [kw for kw, _ in runtime]
    user = next(a for kw, a in runtime if kw == "USER")
    assert user.split(":")[0] not in {"0", "root"}
    health = next(a for kw, a in runtime if kw == "HEALTHCHECK")
    assert "urllib.request" in health
    assert "curl" not in health
    assert ("/healthz" if package.startswith("services/") else "/__sim/health") in health
    assert "ENTRYPOINT" in keywords
    script = json.loads(next(a for kw, a in runtime if kw == "ENTRYPOINT"))
    assert script[0] in project(package)["scripts"]
    copies = [a for kw, a in runtime if kw == "COPY"]
    assert copies
    assert all(a.startswith("--from=build") for a in copies), "runtime copies only the venv"


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in ("**/.venv", ".git", ".env", "**/tests"):
        assert pattern in ignored
