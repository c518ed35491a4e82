"""Benchmarks of utd_trio: each figure is a ratio against a baseline measured in the same run.

Run them all with ``nox -s bench`` (writes ``benchmarks/RESULTS.md``) or one with
``uv run python -m benchmarks.<name> [--smoke]``. See ``benchmarks/README.md``.
"""
