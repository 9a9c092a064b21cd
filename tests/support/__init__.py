"""Test support: a scripted OpenAI-compatible SSE server, an OTLP capture and a driver that runs the real openai
SDK under real LLM instrumentations (each call in its own subprocess) against them."""
