"""The layering is checked, not just described: the import-linter contracts in pyproject.toml
hold for the tree, and a planted upward import, a FastAPI import below api/ or the web pages
imported by the access matrix breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
CONFIG = PYPROJECT["tool"]["importlinter"]


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # The tree's own folder first on the path, so the packages analysed are the ones in it.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo",
                           str(tree / "pyproject.toml")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def test_every_package_is_in_the_layers_and_the_contracts_hold() -> None:
    """Every package the distribution ships stands in the layers, so a new one can't dodge them."""
    shipped = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in shipped}
    layers = next(c for c in CONFIG["contracts"] if c["type"] == "layers")["layers"]
    assert set(CONFIG["root_packages"]) == packages == set(layers), packages
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in result.stdout


def test_an_upward_import_fastapi_in_a_domain_or_the_pages_in_the_matrix_break_the_contracts(
        tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc"))
    with (tree / "cityid" / "clock.py").open("a") as clock:
        clock.write("\n\ndef _upward() -> None:\n    from api import runtime  # noqa\n")
    with (tree / "enrollment" / "rulebook.py").open("a") as rulebook:
        rulebook.write("\nimport starlette.requests  # noqa\n")
    with (tree / "api" / "access.py").open("a") as access:
        access.write("\n\ndef _pages() -> None:\n    from api.web import ACCESS  # noqa\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 3 broken." in result.stdout, result.stdout
    assert "cityid.clock -> api.runtime" in result.stdout, result.stdout
    assert "enrollment.rulebook -> starlette" in result.stdout, result.stdout
    assert "api.access -> api.web" in result.stdout, result.stdout
