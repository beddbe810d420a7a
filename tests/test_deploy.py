"""The systemd units pass `systemd-analyze verify` (with the install path pointed at this venv)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kervan.procs import ROOT

UNITS = ROOT / "deploy" / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_verify(tmp_path):
    kervan = Path(sys.executable).with_name("kervan")
    assert kervan.exists()
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/kervan/.venv/bin/kervan", str(kervan))
        (tmp_path / unit.name).write_text(text)
    # A template is verified through an instance: "<role>-<channel>".
    shutil.copy(tmp_path / "kervan-worker@.service", tmp_path / "kervan-worker@catalog-trendyol.service")
    names = sorted(p.name for p in tmp_path.glob("*.service") if not p.name.endswith("@.service"))
    assert names == ["kervan-relay.service", "kervan-scheduler.service", "kervan-worker@catalog-trendyol.service"]
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_worker_template_splits_role_and_channel():
    line = next(ln for ln in (UNITS / "kervan-worker@.service").read_text().splitlines()
                if ln.startswith("ExecStart="))
    # What systemd hands to the shell: $$ → $, %% → %, %i → the instance name.
    script = line.split("-c ", 1)[1].rsplit(" %i", 1)[0].strip("'").replace("$$", "$").replace("%%", "%")
    script = script.replace("exec /opt/kervan/.venv/bin/kervan worker", "echo")
    out = subprocess.run(["sh", "-c", script, "catalog-trendyol"], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["catalog", "--channel", "trendyol"]
