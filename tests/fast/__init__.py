"""The fast layer: rules checked with plain values and in-memory fakes, no database and no app.

Run it alone with ``pytest -n 0 tests/fast``; the integration suite proves the wiring."""
