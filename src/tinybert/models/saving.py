"""Saving students and teachers as plain Hugging Face folders, atomically."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tinybert.io.outputs import replace_dir
from tinybert.models.attention import use_default_attention, use_score_attention, uses_score_attention

log = logging.getLogger(__name__)


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, final: Path) -> None:
    """Write a plain Hugging Face folder atomically (temporary folder, then rename)."""
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    scores = uses_score_attention(model)
    use_default_attention(model)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if scores:
            use_score_attention(model)
    replace_dir(tmp, final)


def install_model(source: Path, output: Path) -> None:
    """Move the files of the model folder ``source`` into ``output`` (beside metrics and logs)."""
    for item in source.iterdir():
        target = output / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    source.rmdir()


def record_in_config(folder: Path, values: dict) -> None:
    """Add ``values`` to ``folder/config.json`` (atomically): settings the model's users need with it,
    e.g. extractive QA's no-answer threshold. Transformers keeps unknown config keys as attributes."""
    import json

    from tinybert.io.outputs import write_json

    path = Path(folder) / "config.json"
    write_json(path, {**json.loads(path.read_text()), **values})
