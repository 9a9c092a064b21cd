"""Shared logic of the stream processors: the per-trace store, the work items that travel between the
processors on a batch, and the pure derivations (cadence, outcome, retries) each processor applies.

How the stream processors cooperate:

- `stream_reconstruct` reads every span through the conventions. Spans go downstream at once. For each
  streamed LLM span it also attaches a *receipt-time* `StreamWork` (span set) so that the later processors
  enrich that span with what they derive from the span alone (chunk events are on the span itself).
- It keeps the trace's pieces (LLM calls, HTTP client child spans, gen_ai log records joined by span id)
  in a `TraceStore` for `wait` after the trace's last piece, then emits one *final* `StreamWork` per call
  (span None), whose record is in `batch.streams`. Later processors fill that record and add anomalies.
  Joins that arrive after the span (logs, siblings, HTTP retries) therefore change the record, not the span.
- The stream processors must follow each other directly (no `batch` processor between them): the
  receipt-time work holds a reference to the span inside the batch's request.
"""
