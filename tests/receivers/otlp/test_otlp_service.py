"""The receiver as the service builds it from pipeline YAML: config errors with paths, data through to an exporter."""

from __future__ import annotations

import pytest
import yaml

from processor.config.validate import Problems, validate
from processor.service.service import Service
from tests.receivers.otlp.otlp_helpers import good_span, grpc_export, post, trace_request

PIPELINE = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0}
      http: {endpoint: 127.0.0.1:0}
exporters:
  debug: {}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
"""


async def test_pipeline_yaml_runs_the_receiver_and_counts_what_it_accepts():
    service = Service(validate(yaml.safe_load(PIPELINE)))
    await service.start()
    try:
        receiver = service.graph.receivers[0].component
        status, _, _ = await post(receiver.http_port, "/v1/traces", trace_request(good_span()).SerializeToString())
        assert status == 200
        await grpc_export(receiver.grpc_port, trace_request(good_span(2), good_span(3)))
        sample = service.telemetry.registry.get_sample_value
        assert sample("tokenstream_receiver_accepted_spans_total", {"receiver": "otlp", "transport": "http"}) == 1
        assert sample("tokenstream_receiver_accepted_spans_total", {"receiver": "otlp", "transport": "grpc"}) == 2
    finally:
        assert await service.shutdown()


def test_config_problems_are_reported_with_their_paths():
    document = yaml.safe_load(PIPELINE)
    document["receivers"]["otlp"] = {"protocols": {"grpc": {"max_recv_msg_size": "huge", "auth": {}},
                                                   "http": {"read_timeout": 0}}}
    with pytest.raises(Problems) as raised:
        validate(document)
    text = str(raised.value.errors)
    assert 'receivers::otlp::protocols::grpc::max_recv_msg_size: "huge" is not a size' in text
    assert "receivers::otlp::protocols::grpc::auth: set exactly one of" in text
    assert "receivers::otlp::protocols::http::read_timeout: 0.0 is not valid: Input should be greater than 0" in text
