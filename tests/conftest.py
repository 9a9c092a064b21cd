"""Fixtures every test folder may use."""

from tests.support.kafka import flaky_kafka, kafka_bootstrap, kafka_topic, restartable_kafka  # noqa: F401
