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


# Each public function is its command's entry in tinybert.commands.COMMANDS, made on first use so
# that `import tinybert` does not wait for torch and transformers.
def __getattr__(name: str) -> Any:
    from tinybert.commands import COMMANDS, api_function, api_name

    for command in COMMANDS:
        if api_name(command) == name:
            function = api_function(command)
            globals()[name] = function
            return function
    raise AttributeError(f"module 'tinybert' has no attribute {name!r}")
