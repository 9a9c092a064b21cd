from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.config.validate import validate
from processor.model.batch import Batch, Signal
from processor.service.graph import Graph
from processor.service.host import Host
from processor.service.telemetry import SelfTelemetry

CONFIG = {
    "receivers": {"rec/in1": {}, "rec/in2": {}},
    "processors": {"rec/p1": {"tag": "p1"}, "rec/p2": {"tag": "p2"}},
    "exporters": {"rec/reader": {}, "rec/writer": {"mutate": True, "tag": "w"}},
    "extensions": {"rec/ext": {}},
    "service": {
        "extensions": ["rec/ext"],
        "telemetry": {"metrics": {"level": "none"}},
        "pipelines": {
            "traces": {"receivers": ["rec/in1", "rec/in2"], "processors": ["rec/p1", "rec/p2"],
                       "exporters": ["rec/reader", "rec/writer"]},
            "logs": {"receivers": ["rec/in1"], "exporters": ["rec/reader"]},
        },
    },
}


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="s", trace_id=b"\1" * 16, span_id=b"\2" * 8)
    return request


async def test_starts_exporters_first_and_receivers_last_and_stops_in_reverse(recorder_components):
    graph = Graph(validate(CONFIG), SelfTelemetry())
    await graph.start(Host(SelfTelemetry()))
    starts = [name for event, name in recorder_components if event == "start"]
    assert starts == ["extension/rec/ext", "exporter/rec/reader", "exporter/rec/writer", "processor/rec/p2",
                      "processor/rec/p1", "receiver/rec/in1", "receiver/rec/in2"]
    recorder_components.clear()
    await graph.shutdown()
    stops = [name for event, name in recorder_components if event == "shutdown"]
    assert stops == ["receiver/rec/in2", "receiver/rec/in1", "processor/rec/p1", "processor/rec/p2",
                     "exporter/rec/writer", "exporter/rec/reader", "extension/rec/ext"]


async def test_data_flows_through_processors_and_only_the_mutating_exporter_gets_a_copy(recorder_components):
    graph = Graph(validate(CONFIG), SelfTelemetry())
    receiver = graph.receivers[0].component
    batch = Batch(Signal.TRACES, _request())
    await receiver.next.consume(batch)
    reader, writer = (node.component for node in graph.exporters)
    assert reader.seen[0] is batch
    assert writer.seen[0] is not batch
    assert writer.seen[0].request.resource_spans[0].resource.attributes[0].value.string_value == "w"
    assert len(batch.request.resource_spans[0].resource.attributes) == 0, "the reader's data must not change"


async def test_each_signal_goes_to_its_own_pipelines(recorder_components):
    graph = Graph(validate(CONFIG), SelfTelemetry())
    in1, in2 = (node.component for node in graph.receivers)
    assert in1.next.signals == {Signal.TRACES, Signal.LOGS}
    assert in2.next.signals == {Signal.TRACES}
    recorder_components.clear()
    await in1.next.consume(Batch.empty(Signal.LOGS))
    assert [name for _, name in recorder_components] == ["exporter/rec/reader"]


async def test_processors_are_counted_in_self_telemetry(recorder_components):
    telemetry = SelfTelemetry()
    graph = Graph(validate(CONFIG), telemetry)
    await graph.receivers[0].component.next.consume(Batch(Signal.TRACES, _request()))
    value = telemetry.registry.get_sample_value
    assert value("tokenstream_processor_incoming_items_total", {"processor": "rec/p1", "pipeline": "traces"}) == 1
    assert value("tokenstream_processor_outgoing_items_total", {"processor": "rec/p2", "pipeline": "traces"}) == 1
