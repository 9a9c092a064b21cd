"""Connectors: each an exporter of some pipelines and the receiver of others (the Collector's connectors)."""
