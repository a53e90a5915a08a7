"""Benchmarks: run as `python -m benchmarks.<name>` or `keras-tl bench <name>`."""

NAMES = ("input_pipeline", "training_throughput", "bottleneck", "augment_iterators")
