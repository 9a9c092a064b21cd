from typing import Literal

from processor.config.models import ComponentConfig


class DebugConfig(ComponentConfig):
    verbosity: Literal["basic", "normal", "detailed"] = "basic"
