"""The extension's settings as `tokenstream validate` reads them: stalls are the stream processor's to decide."""

from __future__ import annotations

import pytest

from processor.component import Kind
from processor.config.types import ComponentID
from processor.config.validate import Problems, validate


def document(streamz: dict) -> dict:
    return {"receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:4318"}}}},
            "processors": {"stream": {"cadence": {"stall_gap": "2s"}}}, "exporters": {"streamz": {}},
            "extensions": {"streamz": streamz},
            "service": {"extensions": ["streamz"],
                        "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["stream"],
                                                 "exporters": ["streamz"]}}}}


def test_endpoint_and_max_streams_are_its_settings():
    config = validate(document({"endpoint": "127.0.0.1:55681", "max_streams": 10}))
    streamz = config.components[Kind.EXTENSION][ComponentID.parse("streamz")]
    assert (streamz.endpoint, streamz.max_streams) == ("127.0.0.1:55681", 10)


@pytest.mark.parametrize("value", ["2s", None])
def test_a_config_that_still_sets_stall_gap_is_refused_with_where_stalls_are_set(value):
    with pytest.raises(Problems) as raised:
        validate(document({"endpoint": "127.0.0.1:55681", "stall_gap": value}))
    [error] = raised.value.errors
    assert error.startswith("extensions::streamz: stall_gap is no longer a streamz setting")
    assert "processors::stream::cadence (stall_gap, stall_factor)" in error
