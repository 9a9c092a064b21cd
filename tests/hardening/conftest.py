"""Fixtures for the hardening fuzzers: one real otlp receiver for the session, the figures, the fast/full switch.

TOKENSTREAM_FULL=1 selects the full-size run (>= 10,000 payloads, `make reliability`); without it each family
runs a few dozen to a few hundred examples so that `make test` stays quick.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.hardening.clients import GrpcClient
from tests.hardening.figures import Figures, rss_bytes
from tests.hardening.fuzzing import FuzzRun
from tests.hardening.receiver_thread import ReceiverThread

FULL = os.environ.get("TOKENSTREAM_FULL", "") not in ("", "0")
#: Both transports' size limit: a 10 MB attribute fits, 13 MB does not.
LIMIT_BYTES = 12 << 20
#: How far RSS may stay above where a family started once its data is gone: allocator caches, not leaks.
RSS_SLACK_BYTES = 160 << 20

settings.register_profile("fuzz-fast", deadline=None, database=None, print_blob=True,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("fuzz-full", deadline=None, database=None, print_blob=True,
                          suppress_health_check=list(HealthCheck))


def examples(fast: int, full: int) -> settings:
    """The settings of one fuzz family: its example count in the current profile."""
    return settings(settings.get_profile("fuzz-full" if FULL else "fuzz-fast"), max_examples=full if FULL else fast)


@pytest.fixture(scope="session")
def figures():
    collected = Figures("full" if FULL else "fast")
    yield collected
    if collected.families:
        collected.write()
        print("\n" + "\n".join(collected.table()))


@pytest.fixture(scope="session")
def receiver():
    with ReceiverThread(LIMIT_BYTES) as running:
        yield running


@pytest.fixture(scope="session")
def grpc_client(receiver):
    client = GrpcClient(receiver.grpc_port)
    yield client
    client.close()


@pytest.fixture
def fuzz(request, receiver, grpc_client, figures):
    """One family: counts what it sends, and afterwards checks the receiver is up and RSS came back."""
    family = figures.family(request.node.name.removeprefix("test_"))
    receiver.clear_sink()
    family.rss_before = rss_bytes()
    run = FuzzRun(receiver, grpc_client, family, LIMIT_BYTES)
    yield run
    receiver.clear_sink()
    family.rss_after = rss_bytes()
    assert receiver.alive()
    run.good_requests()
    assert family.rss_after - family.rss_before < RSS_SLACK_BYTES, family.as_dict()


