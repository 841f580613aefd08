"""Benchmarks; ``python -m bench.pageload`` runs from the repository root."""
