"""Benchmarks: ``make bench`` (``python -m bench [NAME ...]``). Never run by ``make test``."""
