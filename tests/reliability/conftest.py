"""Fixtures for the reliability scenarios: the Kafka brokers (tests.support.kafka) and the scenarios' sizes."""

from __future__ import annotations

from tests.support.kafka import *  # noqa: F403 - registers kafka_bootstrap, flaky_kafka, ...
