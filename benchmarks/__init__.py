"""zcflow benchmarks: `python -m benchmarks --size small|full [--json]` (see README, Performance)."""
