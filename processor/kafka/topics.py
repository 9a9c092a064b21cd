"""Creating topics up front, for clusters that do not create them on first use."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code


async def create_topics(client_kwargs: dict[str, Any], topics: list[str], *, partitions: int,
                        replication_factor: int, log: logging.Logger) -> None:
    """Create each topic that does not exist yet; one that already exists is left as it is."""
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        response = await admin.create_topics([NewTopic(t, partitions, replication_factor) for t in missing])
        for name, code, *rest in response.topic_errors:
            if code == 0:
                log.info("created topic %s (%d partitions, replication %d)", name, partitions, replication_factor)
            elif for_code(code) is not TopicAlreadyExistsError:
                message = rest[0] if rest and rest[0] else for_code(code).__name__
                raise RuntimeError(f"cannot create topic {name}: {message}")
    finally:
        await admin.close()
