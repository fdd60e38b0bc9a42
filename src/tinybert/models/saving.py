"""Saving students and teachers as plain Hugging Face folders, atomically."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tinybert.io.outputs import atomic_folder, write_json
from tinybert.models.attention import use_default_attention, use_score_attention, uses_score_attention

log = logging.getLogger(__name__)


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, final: Path) -> None:
    """Write a plain Hugging Face folder atomically (temporary folder, then rename)."""
    scores = uses_score_attention(model)
    use_default_attention(model)
    try:
        with atomic_folder(final) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
    finally:
        if scores:
            use_score_attention(model)


def install_model(source: Path, output: Path) -> None:
    """Move the files of the model folder ``source`` into ``output`` (beside metrics and logs)."""
    for item in source.iterdir():
        target = output / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    source.rmdir()


def record_in_config(folder: Path, task_type: Any, metrics: dict[str, float]) -> None:
    """Add the settings ``task_type`` derives from the model's dev ``metrics`` (its optional
    ``config_records``, e.g. extractive QA's v2 no-answer threshold) to ``folder/config.json``,
    atomically; nothing when there are none. Transformers keeps unknown config keys as attributes."""
    records = getattr(task_type, "config_records", None)
    values = records(metrics) if records is not None else {}
    if values:
        path = Path(folder) / "config.json"
        write_json(path, {**json.loads(path.read_text()), **values})
