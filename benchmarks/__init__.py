"""minemap benchmarks: each ``bench_*.py`` compares minemap with a naive baseline in one run."""
