"""What the kafka receiver does when the group takes partitions away, or gives them.

aiokafka rebalances eagerly: every rebalance first revokes all of a member's partitions, then assigns the
new set. Before revocation completes (and so before any other member may read those partitions) the
receiver finishes or abandons the batch in flight and flushes the pipelines it feeds, so that stream state
built from the revoked partitions goes downstream now instead of being split between two owners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka import ConsumerRebalanceListener

if TYPE_CHECKING:
    from processor.receivers.kafka.receiver import KafkaReceiver


class RevokeFlushes(ConsumerRebalanceListener):
    def __init__(self, receiver: KafkaReceiver) -> None:
        self.receiver = receiver

    async def on_partitions_revoked(self, revoked) -> None:
        receiver = self.receiver
        receiver.generation += 1  # a batch polled before this is not ours to commit any more
        if not revoked:
            return
        receiver.log.info("kafka: partitions %s revoked; flushing their stream state", _names(revoked))
        await receiver.settle_and_flush(f"partitions {_names(revoked)} revoked")

    async def on_partitions_assigned(self, assigned) -> None:
        self.receiver.log.info("kafka: assigned partitions %s", _names(assigned) or "(none)")


def _names(partitions) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(partitions))
