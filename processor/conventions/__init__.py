"""One adapter per instrumentation convention, each reading an LLM span into the same `LlmCall`.

`select(names)` picks adapters by config name (`auto`: all, most specific first); `read_llm_call` reads a span
with the first that recognises it and rejects plain spans after a look at their attribute keys.
"""

from processor.conventions.registry import AUTO, KNOWN, read_llm_call, select

__all__ = ["AUTO", "KNOWN", "read_llm_call", "select"]
