"""Shared logic of the `stream` processor (processor.processors.stream): the per-trace store, the work items it
derives from, and the pure derivations (cadence, outcome, retries) it applies to each streamed call.
"""
