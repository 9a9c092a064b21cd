"""Run inside the image with its own Python: `python - MODULE... < inspect_package.py`.

Prints, as JSON, where each named module was imported from, every compiled file in the installed package,
processor.wire's IMPLEMENTATION when the package has processor.wire, and whether TOKENSTREAM_PURE_PYTHON is set.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import processor

root = Path(processor.__file__).parent
wire = importlib.import_module("processor.wire") if (root / "wire").is_dir() else None
print(json.dumps({
    "files": {name: importlib.import_module(name).__file__ for name in sys.argv[1:]},
    "compiled": sorted(str(path.relative_to(root.parent)) for path in root.rglob("*.so")),
    "wire": getattr(wire, "IMPLEMENTATION", None),
    "pure_python_forced": os.environ.get("TOKENSTREAM_PURE_PYTHON"),
}))
