"""tinybert: compress BERT-family models by TinyBERT-style knowledge distillation.

The Python API mirrors the CLI, with the same option names::

    import tinybert
    tinybert.finetune("path/to/bert", "teacher", task="sst2", data_dir="glue/SST-2")
    tinybert.distill("teacher", "student", task="sst2", data_dir="glue/SST-2", student="tinybert-4l-312")
    tinybert.evaluate("student", task="sst2", data_dir="glue/SST-2")
"""

from __future__ import annotations

from typing import Any

from tinybert.errors import TinyBertError

__all__ = [
    "TinyBertError",
    "augment",
    "benchmark",
    "demo",
    "distill",
    "evaluate",
    "export",
    "finetune",
    "general_distill",
    "predict",
    "prune",
    "run",
]
__version__ = "0.1.0"


# Each public function lives in its command's module; imported lazily so that `tinybert --help`
# does not wait for torch and transformers.
_COMMANDS = {
    "finetune": "tinybert.stages.finetune",
    "distill": "tinybert.stages.distill",
    "evaluate": "tinybert.stages.evaluate",
    "augment": "tinybert.stages.augment",
    "general_distill": "tinybert.stages.general_distill",
    "export": "tinybert.deploy.export",
    "predict": "tinybert.deploy.predict",
    "prune": "tinybert.stages.prune",
    "benchmark": "tinybert.deploy.benchmark",
    "run": "tinybert.pipeline.run",
    "demo": "tinybert.pipeline.demo",
}


def __getattr__(name: str) -> Any:
    if name in _COMMANDS:
        import importlib

        return getattr(importlib.import_module(_COMMANDS[name]), name)
    raise AttributeError(f"module 'tinybert' has no attribute {name!r}")
