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

__all__ = ["TinyBertError", "augment", "benchmark", "distill", "evaluate", "export", "finetune", "predict"]
__version__ = "0.1.0"


_DEPLOY = {"export": "tinybert.exporter", "benchmark": "tinybert.speed", "predict": "tinybert.predictor"}


def __getattr__(name: str) -> Any:
    # Imported lazily so that `tinybert --help` does not wait for torch and transformers.
    if name in ("finetune", "distill", "evaluate"):
        from tinybert import api

        return getattr(api, name)
    if name == "augment":
        from tinybert.augmentation import augment

        return augment
    if name in _DEPLOY:
        import importlib

        return getattr(importlib.import_module(_DEPLOY[name]), name)
    raise AttributeError(f"module 'tinybert' has no attribute {name!r}")
