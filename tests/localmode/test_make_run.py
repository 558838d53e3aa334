"""`make run` needs only Python and make: the recipe installs a private uv when none is found."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> str:
    """The recipe `make -n` would run; `UV` unset (`uv run` exports it), as on a fresh shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("UV", "MAKEFLAGS")}
    done = subprocess.run(
        ["make", "-n", "run", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_bootstraps_uv_then_runs_the_local_mode() -> None:
    recipe = dry_run()
    assert "command -v uv" in recipe
    assert "python3 -m venv .tools" in recipe
    assert ".tools/bin/pip install" in recipe
    assert " uv" in recipe
    assert 'uv=".tools/bin/uv"' in recipe
    assert "$uv sync --all-packages --locked" in recipe
    assert "$uv run --no-sync casebridge-local" in recipe


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_passes_args_and_honours_uv() -> None:
    assert "casebridge-local --follow" in dry_run("ARGS=--follow")
    assert "command -v /opt/bin/uv" in dry_run("UV=/opt/bin/uv")
    assert 'uv="/opt/bin/uv"' in dry_run("UV=/opt/bin/uv")


def test_local_state_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".local/" in ignored
    assert ".tools/" in ignored


def dry_run_without_uv_on_path(target: str, tools: Path) -> str:
    """`make -n <target>` on a PATH without uv (only the system's make and sh)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        ["make", "-n", target, f"TOOLS={tools}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    shutil.which("uv", path="/usr/bin:/bin") is not None, reason="uv is installed system-wide"
)
@pytest.mark.parametrize("target", ["test", "pytest", "sync", "lint"])
def test_every_target_uses_the_uv_make_run_installed(tmp_path: Path, target: str) -> None:
    private = tmp_path / "bin" / "uv"
    private.parent.mkdir()
    private.write_text("#!/bin/sh\n", encoding="utf-8")
    private.chmod(0o755)
    recipe = dry_run_without_uv_on_path(target, tmp_path)
    assert f"{private} sync --all-packages --locked" in recipe
    assert f"{private} run --no-sync" in recipe
    # Without the private uv either, the recipe names plain `uv` (make run installs one).
    private.unlink()
    assert "\nuv sync --all-packages" in "\n" + dry_run_without_uv_on_path(target, tmp_path)
