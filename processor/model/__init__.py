from processor.model.batch import Batch, Signal

__all__ = ["Batch", "Signal"]
