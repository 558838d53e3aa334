"""`casebridge-local --follow` keeps polling until SIGINT, then drains and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def test_follow_polls_until_sigint_then_exits_cleanly(tmp_path: Path) -> None:
    data = tmp_path / ".local"
    log = data / "casebridge-local.log"
    command = [
        sys.executable, "-m", "casebridge_local", "--follow", "--no-progress",
        "--data-dir", str(data), "--cases", "30", "--oscar-clients", "5",
        "--dtp-referrals", "3", "--dtp-decisions", "1", "--interval", "0.5",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait for at least two passes of each fetcher: it keeps polling on its schedule.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            passes = log.read_text(encoding="utf-8").count("fetch_pass_done") if log.exists() else 0
            if passes >= 4 or process.poll() is not None:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()
        assert passes >= 4
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "dead-lettered" in out
    assert "O1" in out
    assert "Traceback" not in err
