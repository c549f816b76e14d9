"""Benchmarks: each ``bench/bench_*.py`` script prints tables of measured figures."""
