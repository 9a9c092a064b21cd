"""Fixtures every test folder may use."""

from hypothesis import HealthCheck, settings

from tests.support.kafka import flaky_kafka, kafka_bootstrap, kafka_topic, restartable_kafka  # noqa: F401

# Property tests check what a function returns, not how fast: hypothesis's per-example deadline (200 ms) and its
# too-slow health check fail them on a loaded machine, so both are off for every property test.
settings.register_profile("tokenstream", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tokenstream")
