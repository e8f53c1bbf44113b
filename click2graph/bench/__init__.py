"""Benchmarks that print figures: ``python -m click2graph.bench {tracking,discovery,pipeline}``."""
