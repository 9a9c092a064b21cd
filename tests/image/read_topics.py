"""Run inside the container with the image's own Python: `python - BOOTSTRAP TOPIC... < read_topics.py`.

Reads each topic of the embedded broker (it listens on the container's loopback only) from the beginning to its
end offsets and prints, as JSON, per topic: its record count, the spans in it (for OTLP span records) and the
span ids of the stream records.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from processor.kafka import headers as h
from processor.model.gen.tokenstream.v1.stream_pb2 import StreamRecord


async def read(bootstrap: str, topic: str, timeout: float = 20.0) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()  # fetches metadata
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while any([await consumer.position(p) < end[p] for p in partitions]):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: read {len(records)} records, not up to the end offsets {end}")
            batches = await consumer.getmany(*partitions, timeout_ms=500)
            records += [record for batch in batches.values() for record in batch]
        return records
    finally:
        await consumer.stop()


def describe(records: list[ConsumerRecord]) -> dict:
    """Decoded as their headers say, as any reader of these topics would."""
    summary: dict = {"records": len(records), "spans": 0, "span_ids": []}
    for record in records:
        schema, content_type = h.header(record.headers, h.SCHEMA), h.header(record.headers, h.CONTENT_TYPE)
        if schema == h.SPANS_SCHEMA and content_type == h.PROTOBUF:
            request = ExportTraceServiceRequest.FromString(record.value)
            summary["spans"] += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        elif schema == h.STREAM_SCHEMA and content_type == h.PROTOBUF:
            summary["span_ids"].append(StreamRecord.FromString(record.value).span_id.hex())
        elif schema == h.STREAM_SCHEMA and content_type == h.JSON:
            summary["span_ids"].append(json.loads(record.value)["span_id"])
        else:
            raise ValueError(f"{record.topic}: a record this reader does not know: {schema} as {content_type}")
    return summary


async def main(bootstrap: str, topics: list[str]) -> None:
    print(json.dumps({topic: describe(await read(bootstrap, topic)) for topic in topics}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
