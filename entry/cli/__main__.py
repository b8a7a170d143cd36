"""``python -m entry.cli``: the `cityid` command without its console script."""

from entry.cli import main

main()
