"""How much memory an OTLP request takes once decoded, per byte of its body: the estimate the otlp receiver asks
memory_limiter to reserve before decoding (processor/receivers/otlp/export.py).

    python -m bench.decoded_size

Each shape is serialized once, then decoded in a fresh process (so that memory freed by building it is not reused
and hidden), which reports its RSS growth: protobuf with upb, and the receiver's OTLP/JSON decoder (its peak, as
the parsed JSON is freed once the protobuf is built). Results: bench/results/decoded_size.txt.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.model import otlp_json

_MIB = 1 << 20


def _shapes() -> dict[str, ExportTraceServiceRequest]:
    def request(spans: int, *, attributes: int = 0, events: int = 0, event_attribute: bool = False,
                big: int = 0, ids: bool = True, named: bool = True) -> ExportTraceServiceRequest:
        built = ExportTraceServiceRequest()
        scope = built.resource_spans.add().scope_spans.add()
        for index in range(spans):
            span = scope.spans.add()
            if ids:
                span.trace_id, span.span_id = index.to_bytes(16, "big"), (index + 1).to_bytes(8, "big")
            if ids and named:
                span.name, span.start_time_unix_nano, span.end_time_unix_nano = "chat gpt-4o", 1, 2
            for key in range(attributes):
                span.attributes.add(key=f"gen_ai.attribute.{key}").value.string_value = f"value {key}"
            if big:
                span.attributes.add(key="gen_ai.prompt").value.string_value = "x" * big
            for chunk in range(events):
                event = span.events.add(name="gen_ai.content.completion.chunk", time_unix_nano=chunk)
                if event_attribute:
                    event.attributes.add(key="gen_ai.completion.chunk").value.string_value = "tok"
        return built

    return {"spans with ids only": request(200_000, named=False), "spans with ids, name, times": request(200_000),
            "spans with 10 attributes": request(20_000, attributes=10),
            "chunk events": request(10_000, events=100), "chunk events with text": request(10_000, events=100,
                                                                                           event_attribute=True),
            "1 MiB strings": request(40, big=1 << 20), "empty spans (adversarial)": request(1_000_000, ids=False)}


_MEASURE = """
import sys, threading, time
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from processor.model import otlp_json
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096
body = open(sys.argv[2], 'rb').read()
peak, stop = [0], threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.002)
before = rss(); sampler = threading.Thread(target=sample); sampler.start()
decoded = ExportTraceServiceRequest.FromString(body) if sys.argv[1] == 'protobuf' else otlp_json.decode('traces', body)
stop.set(); sampler.join()
print(max(peak[0], rss()) - before)
"""


def _grown(codec: str, path: Path) -> int:
    return int(subprocess.check_output([sys.executable, "-c", _MEASURE, codec, str(path)], text=True))


def main() -> int:
    print(f"{'shape':<28} {'protobuf MiB':>12} {'x body':>7} {'json MiB':>9} {'x body':>7}")
    with tempfile.TemporaryDirectory() as directory:
        for name, request in _shapes().items():
            protobuf, json = Path(directory, "body.pb"), Path(directory, "body.json")
            protobuf.write_bytes(request.SerializeToString())
            json.write_bytes(otlp_json.encode(request))
            sizes = {"protobuf": protobuf.stat().st_size, "json": json.stat().st_size}
            grown = {codec: _grown(codec, path) for codec, path in (("protobuf", protobuf), ("json", json))}
            print(f"{name:<28} {sizes['protobuf'] / _MIB:>12.1f} {grown['protobuf'] / sizes['protobuf']:>7.2f}"
                  f" {sizes['json'] / _MIB:>9.1f} {grown['json'] / sizes['json']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
