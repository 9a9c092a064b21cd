import pytest

from processor.errors import PermanentError, RetryableError
from processor.model.batch import Batch, Signal
from processor.service.fanout import Fanout, SignalRouter, UnsupportedSignal
from processor.testing import FailingConsumer, SinkConsumer


async def test_single_consumer_gets_the_batch_itself_even_when_it_mutates():
    sink = SinkConsumer(mutates_data=True)
    batch = Batch.empty(Signal.TRACES)
    await Fanout([sink]).consume(batch)
    assert sink.batches == [batch] and sink.batches[0] is batch


async def test_when_all_mutate_the_last_owns_the_original():
    first, last = SinkConsumer(mutates_data=True), SinkConsumer(mutates_data=True)
    batch = Batch.empty(Signal.TRACES)
    await Fanout([first, last]).consume(batch)
    assert last.batches[0] is batch and first.batches[0] is not batch


async def test_a_retryable_failure_in_one_branch_makes_the_whole_send_retryable():
    sink = SinkConsumer()
    fanout = Fanout([sink, FailingConsumer(RetryableError("queue full", retry_after=2)),
                     FailingConsumer(PermanentError("bad data"))])
    with pytest.raises(RetryableError) as info:
        await fanout.consume(Batch.empty(Signal.TRACES))
    assert info.value.retry_after == 2
    assert len(sink.batches) == 1


async def test_router_refuses_a_signal_with_no_pipeline():
    router = SignalRouter({Signal.TRACES: SinkConsumer()})
    with pytest.raises(UnsupportedSignal):
        await router.consume(Batch.empty(Signal.METRICS))
