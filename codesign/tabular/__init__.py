"""Tabular benchmarks as a space + evaluator on the open engine (NAS-Bench-201 × measured device latency)."""
