"""Data loading for TinyBERT distillation: GLUE tasks, generic files, tokenization, batching."""

from tinybert.data.features import encode, make_loader
from tinybert.data.glue import GLUE_TASKS, TaskSpec, get_task
from tinybert.data.readers import Example, TaskData, load_custom, load_glue, read_table

__all__ = [
    "GLUE_TASKS",
    "Example",
    "TaskData",
    "TaskSpec",
    "encode",
    "get_task",
    "load_custom",
    "load_glue",
    "make_loader",
    "read_table",
]
