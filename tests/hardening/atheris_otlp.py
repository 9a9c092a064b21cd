"""Coverage-guided fuzzing (atheris/libFuzzer) of the real otlp receiver over both transports.

Run: .venv/bin/python -m tests.hardening.atheris_otlp -runs=3000 (libFuzzer flags). A wrong status, a dead
receiver or a failed good request raises, which libFuzzer reports as a crash with the input that caused it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["processor"]):
    from processor.model import otlp_json  # noqa: F401 - instrumented for coverage
    from processor.receivers.otlp import body, export, grpc_server, http_server  # noqa: F401

from tests.hardening import expect  # noqa: E402
from tests.hardening.clients import GrpcClient, http_post  # noqa: E402
from tests.hardening.fuzzing import GOOD  # noqa: E402
from tests.hardening.receiver_thread import ReceiverThread  # noqa: E402

LIMIT = 1 << 20


def main() -> None:
    with ReceiverThread(LIMIT) as receiver:
        grpc_client = GrpcClient(receiver.grpc_port)

        def one_input(data: bytes) -> None:
            provider = atheris.FuzzedDataProvider(data)
            mode = provider.ConsumeIntInRange(0, 3)
            payload = provider.ConsumeBytes(provider.remaining_bytes())
            if mode == 3:
                answer = grpc_client.export(payload)
                assert answer.status == expect.GRPC_CODE[expect.protobuf(payload, LIMIT)], answer
            else:
                content_type = "application/json" if mode == 1 else "application/x-protobuf"
                headers = {"Content-Encoding": "gzip"} if mode == 2 else {}
                wanted = {0: expect.protobuf, 1: expect.json_body, 2: expect.gzipped}[mode](payload, LIMIT)
                answer = http_post(receiver.http_port, payload, content_type=content_type, headers=headers)
                assert answer.status in (wanted if isinstance(wanted, set) else {wanted}), (answer, wanted)
            assert http_post(receiver.http_port, GOOD).status == 200
            receiver.clear_sink()

        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
