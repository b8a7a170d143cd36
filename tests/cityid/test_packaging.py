"""A non-editable install can migrate: the wheel carries the migrations, and the package, run
from the unpacked wheel in a folder far from the source tree, builds a fresh database."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

from cityid.migrate import current_heads

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "cityid", "enrollment", "idcard", "oversight", "partners", "privacy",
            "redemption", "staff")


def test_the_wheel_carries_the_migrations_and_migrates_a_fresh_database(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("node_modules", "__pycache__", "*.pyc", "*.egg-info")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=900, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("cityid-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "installed")
    shipped = {Path(n).name for n in names if n.startswith("cityid/migrations/versions/")}
    in_tree = {p.name for p in (ROOT / "cityid" / "migrations" / "versions").glob("*.py")}
    assert in_tree and in_tree <= shipped
    assert {"cityid/migrations/env.py", "cityid/migrations/script.py.mako"} <= names

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "fresh.db"
    script = (
        "import json, cityid\n"
        "from cityid.migrate import upgrade, current_heads\n"
        f"url = 'sqlite:///{database.as_posix()}'\n"
        "upgrade(url)\n"
        "print(json.dumps({'file': cityid.__file__, 'heads': current_heads(url)}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYID_")}
    env["PYTHONPATH"] = str(tmp_path / "installed")
    ran = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    answer = json.loads(ran.stdout.strip().splitlines()[-1])
    assert Path(answer["file"]).is_relative_to(tmp_path / "installed")
    heads = current_heads("sqlite://")
    with sqlite3.connect(database) as db:
        assert [row[0] for row in db.execute("SELECT version_num FROM alembic_version")] == heads
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"cards", "residents", "audit_log"} <= tables
