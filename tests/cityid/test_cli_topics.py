"""`cityid --help` lists every command without importing its topic's module, and lists it
exactly as the command itself would."""

from __future__ import annotations

import subprocess
import sys

import click

from entry import cli


def test_the_listing_of_each_topic_matches_its_command() -> None:
    ctx = click.Context(cli.main)
    for name, (_module, _attribute, summary) in cli.TOPICS.items():
        command = cli.main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert (command.help or "").startswith(summary), name
    # With every topic loaded the listing must read as the lazy one does. Both run the same
    # way (a subprocess, the same width), so only what is imported differs.
    lazy, loaded = (_help("from entry.cli import main"),
                    _help("import click; from entry.cli import main, TOPICS\n"
                          "for name in TOPICS: main.get_command(click.Context(main), name)\n"
                          "assert set(TOPICS) <= set(main.commands)"))
    assert lazy == loaded
    for summary in (summary for _module, _attribute, summary in cli.TOPICS.values()):
        assert summary[:30] in loaded


def _help(setup: str) -> str:
    probe = (f"{setup}\ntry:\n    main(['--help'], prog_name='cityid')\n"
             "except SystemExit:\n    pass\n")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env={"COLUMNS": "80", "PATH": ""}).stdout

def test_help_imports_no_topic() -> None:
    probe = ("import sys; from entry.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith(('entry.cli.', 'api', "
             "'idcard', 'staff', 'redemption', 'oversight', 'enrollment'))))")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True).stdout.splitlines()[-1]
    assert imported == "[]", imported
