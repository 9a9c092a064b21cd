"""One adapter per instrumentation convention, each reading an LLM span into the same `LlmCall`."""
