"""The committed generated code must be what `make proto` makes from the .proto today."""

from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "processor/model/gen/tokenstream/v1"


def test_generated_code_matches_the_proto(tmp_path):
    status = protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
                          str(ROOT / "proto/tokenstream/v1/stream.proto")])
    assert status == 0
    for name in ("stream_pb2.py", "stream_pb2.pyi"):
        fresh = (tmp_path / "tokenstream/v1" / name).read_text()
        assert (GENERATED / name).read_text() == fresh, f"{name} is stale: run `make proto` and commit the result"
