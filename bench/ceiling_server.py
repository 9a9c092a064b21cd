"""The ceilings: a bare grpcio TraceService whose Export returns at once.

`--mode decode`: grpcio's generated code decodes the request and nothing else happens (transport + decode).
`--mode walk`: it also touches every span event of every span (the Python floor for looking at each chunk).
"""

from __future__ import annotations

import argparse
import asyncio

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _Decode(trace_service_pb2_grpc.TraceServiceServicer):
    async def Export(self, request, context):  # noqa: N802 - gRPC method name
        return trace_service_pb2.ExportTraceServiceResponse()


class _Walk(trace_service_pb2_grpc.TraceServiceServicer):
    async def Export(self, request, context):  # noqa: N802
        events = 0
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    for event in span.events:
                        events += event.time_unix_nano > 0
        return trace_service_pb2.ExportTraceServiceResponse()


async def serve(port: int, mode: str) -> None:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 2**20)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Walk() if mode == "walk" else _Decode(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("decode", "walk"), default="decode")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.mode))
