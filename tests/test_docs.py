"""The README stands on its own: every file it links is in the repository, and the architecture
document it links describes the packages that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|`(\.\./[^`]+|docs/[^`]+)`")


def _local_links(text: str) -> list[str]:
    found = [a or b for a, b in LINK.findall(text)]
    return [link.split("#")[0] for link in found if not re.match(r"^[a-z]+:", link)]


def test_the_readme_links_only_files_in_the_repository() -> None:
    links = _local_links((ROOT / "README.md").read_text("utf-8"))
    assert "docs/architecture.md" in links
    for link in links:
        target = (ROOT / link).resolve()
        assert target.is_relative_to(ROOT), f"README links outside the repository: {link}"
        assert target.exists(), f"README links a missing file: {link}"


def test_the_architecture_document_names_the_packages_as_they_are() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    layout = text.split("```")[1]
    named = {line.split("/")[0] for line in layout.splitlines() if re.match(r"^[a-z]+/", line)}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= named, packages - named
    for directory in named:
        assert (ROOT / directory).is_dir(), directory
    for path in re.findall(r"`((?:entry|api|oversight|staff|redemption|idcard|enrollment|privacy|"
                           r"cityid)/[\w/.]+\.(?:py|yaml))`", text):
        assert (ROOT / path).exists(), f"architecture.md names a missing file: {path}"
    assert "## Not built yet" in text


def test_the_readme_layout_names_every_package_and_only_folders_that_exist() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    layout = text.split("## Layout", 1)[1].split("```")[1]
    named = {line.split("/")[0] for line in layout.splitlines() if re.match(r"^[a-z]+/", line)}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= named, packages - named
    for directory in named:
        assert (ROOT / directory).is_dir(), directory
