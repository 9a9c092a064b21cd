from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from tests.support.otlp_capture import OtlpCapture
from tests.support.stream_server import StreamServer

FAST = {"first_delay": 0.2, "chunk_gap": 0.03, "content_chunks": 6}


@pytest.fixture
def stream_server() -> Iterator[StreamServer]:
    with StreamServer(FAST) as server:
        yield server


@pytest.fixture
def openai_client(stream_server: StreamServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=stream_server.base_url, api_key="sk-test", max_retries=0, timeout=15.0)
    yield client
    client.close()


@pytest.fixture
async def otlp_capture() -> AsyncIterator[OtlpCapture]:
    async with OtlpCapture() as capture:
        yield capture
