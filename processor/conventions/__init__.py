"""One adapter per instrumentation convention, each reading an LLM span into the same `LlmCall`.

`select(names)` picks adapters by config name (`auto`: all, most specific first); `read_llm_span` reads an `LlmSpan`
(conventions/span.py: from the wire core's index, or from a decoded span) with the first that recognises it and
rejects plain spans after a look at their attribute keys; `read_llm_call` does the same for a decoded span.
"""

from processor.conventions.registry import AUTO, KNOWN, read_llm_call, read_llm_span, select

__all__ = ["AUTO", "KNOWN", "read_llm_call", "read_llm_span", "select"]
