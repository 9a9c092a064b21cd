"""Benchmarks: every figure is a ratio to a ceiling measured in the same run, with the same client and payloads."""
