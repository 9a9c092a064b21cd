from __future__ import annotations

from pydantic import Field, model_validator

from processor.config.models import ComponentConfig
from processor.config.types import Duration


class BatchConfig(ComponentConfig):
    #: Items (spans, log records, data points) that trigger a send; 0 sends on the timeout only.
    send_batch_size: int = Field(8192, ge=0)
    #: How long data may wait for a batch to fill; 0 sends every batch at once.
    timeout: Duration = 0.2
    #: Largest batch sent; bigger ones are split. 0 means no limit.
    send_batch_max_size: int = Field(0, ge=0)
    #: Hold each caller until the batch with its data has been taken downstream (e.g. acknowledged by Kafka), so
    #: that nothing a receiver acknowledged sits only in this buffer. False: return once buffered.
    wait_for_delivery: bool = True

    @model_validator(mode="after")
    def _max_not_below_size(self) -> BatchConfig:
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ValueError(f"send_batch_max_size ({self.send_batch_max_size}) is smaller than send_batch_size "
                             f"({self.send_batch_size}); raise send_batch_max_size, or set it to 0 for no limit")
        return self
