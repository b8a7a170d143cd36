"""`cityid --help` lists every command without importing its topic's module, and lists it
exactly as the command itself would."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from entry import cli


def test_the_listing_of_each_topic_matches_its_command() -> None:
    ctx = click.Context(cli.main)
    for name, (_module, _attribute, summary) in cli.TOPICS.items():
        command = cli.main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert (command.help or "").startswith(summary), name
    # With every topic loaded, the listing is click's own; it must read as the lazy one did.
    lazy = subprocess.run([sys.executable, "-m", "entry.cli", "--help"], capture_output=True,
                          text=True, check=True, env={"COLUMNS": "80", "PATH": ""}).stdout
    loaded = CliRunner().invoke(cli.main, ["--help"], prog_name="cityid", terminal_width=80)
    assert loaded.exit_code == 0
    assert lazy.replace("python -m entry.cli", "cityid") == loaded.output


def test_help_imports_no_topic() -> None:
    probe = ("import sys; from entry.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith(('entry.cli.', 'api', "
             "'idcard', 'staff', 'redemption', 'oversight', 'enrollment'))))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True).stdout.splitlines()[-1]
    assert imported == "[]", imported
