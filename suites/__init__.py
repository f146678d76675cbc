"""Prompt suites: the native YAML/JSONL format, built-in suites and loaders for real benchmarks."""

from suites.suite import Suite, load_suite, load_suites

__all__ = ["Suite", "load_suite", "load_suites"]
