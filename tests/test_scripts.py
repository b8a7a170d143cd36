"""scripts/serve and scripts/system-packages say what they are doing at each step (a first run
takes minutes), run in a copy of the scripts with the tools they call replaced by recorders:
nothing is installed, nothing reaches the network."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The two scripts in an empty checkout whose .venv and Debian tools only record calls."""
    (tmp_path / "scripts").mkdir()
    for name in ("serve", "system-packages"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    for name in ("python", "pip", "cityid"):
        _tool(venv / name, f'echo "{name} $*" >> "{tmp_path}/calls"')
    shims = tmp_path / "shims"
    shims.mkdir()
    _tool(shims / "id", "echo 0")  # as root: apt-get without sudo
    _tool(shims / "apt-get", f'echo "apt-get $*" >> "{tmp_path}/calls"')
    return tmp_path


def _run(checkout: Path, installed: bool) -> tuple[list[str], list[str]]:
    _tool(checkout / "shims" / "dpkg-query",
          'printf "install ok installed"' if installed else "exit 1")
    env = {**os.environ, "PATH": f"{checkout / 'shims'}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(checkout / "scripts" / "serve"), "--port", "9000"],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    calls = (checkout / "calls").read_text().splitlines()
    return done.stderr.splitlines(), calls


def test_serve_names_each_step_and_starts_cityid_with_its_arguments(checkout: Path) -> None:
    said, calls = _run(checkout, installed=True)
    assert [line.split(" ")[1] for line in said if line.startswith("serve:")] == \
        ["1/4", "2/4", "3/4", "4/4"]
    assert any(line.startswith("system-packages: all present: fonts-noto-core")
               for line in said)
    assert "serve: 4/4 starting cityid serve --port 9000" in said[-1]
    assert calls[-1] == "cityid serve --port 9000"
    assert not [c for c in calls if c.startswith("apt-get")]


def test_missing_debian_packages_are_announced_before_apt_get_runs(checkout: Path) -> None:
    said, calls = _run(checkout, installed=False)
    progress = [line for line in said if line.startswith("system-packages:")]
    assert progress[0].startswith("system-packages: installing fonts-noto-core")
    assert "a few minutes" in progress[0]
    assert progress[1:] == ["system-packages: apt-get update",
                            "system-packages: apt-get install fonts-noto-core fonts-noto-cjk "
                            "libraqm0 postgresql-client",
                            "system-packages: installed fonts-noto-core fonts-noto-cjk libraqm0 "
                            "postgresql-client"]
    assert [c.split()[1] for c in calls if c.startswith("apt-get")] == ["update", "install"]
