"""Benchmarks: each prints what it measured next to a baseline measured in the same run."""
