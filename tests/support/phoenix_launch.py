"""Runs Arize Phoenix (`phoenix serve`) with its OTLP/gRPC listener on 127.0.0.1, not on every interface.

Phoenix binds its gRPC port to `[::]` with no setting to change it; this wrapper, run by Phoenix's own
interpreter (its virtualenv), rewrites that address before the server starts. The HTTP side follows PHOENIX_HOST.
"""

import runpy
import sys

sys.path.pop(0)  # this script's folder (tests/support): its modules must not shadow Phoenix's imports

import grpc.aio._server as aio_server  # noqa: E402 - after the path fix

_add_insecure_port = aio_server.Server.add_insecure_port


def _loopback(self, address: str) -> int:
    return _add_insecure_port(self, address.replace("[::]", "127.0.0.1"))


aio_server.Server.add_insecure_port = _loopback
sys.argv = ["phoenix", "serve"]
runpy.run_module("phoenix.server.main", run_name="__main__")
