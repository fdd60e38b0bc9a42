"""Batch inference on a CSV / TSV / JSONL file with any model kind (PyTorch, int8, ONNX).

Every input row comes out with all its columns and two more, ``predicted_label`` and ``score``,
computed exactly as ``transformers.pipeline("text-classification")`` computes its ``label`` and
``score``: softmax over the classes (sigmoid for a single non-regression output, the raw value for
a regression model) and the top class's name from the model's ``id2label``.
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from tinybert.config import PredictConfig
from tinybert.data.readers import _GLUE_LAYOUTS
from tinybert.data.rows import Row, RowSource, atomic_output, output_suffix_ok, table_source
from tinybert.deploy.runtime import InferenceModel, load_inference_model
from tinybert.errors import TinyBertError
from tinybert.options import build, signature
from tinybert.tasks.glue import get_task

__all__ = ["PredictConfig", "guess_text_column", "pipeline_scores", "predict", "run_predict"]

OUTPUT_COLUMNS = ("predicted_label", "score")
CHUNK_ROWS = 1024  # rows read, predicted and written at a time: memory stays flat on large files


def pipeline_scores(logits: np.ndarray, model: InferenceModel) -> tuple[list[str], list[float]]:
    """Top label and its score per row of ``logits`` (N, C), as the text-classification pipeline does."""
    config = model.config
    if config.problem_type == "regression":
        scores = logits  # the pipeline's ClassificationFunction.NONE
    elif config.problem_type == "multi_label_classification" or config.num_labels == 1:
        scores = 1.0 / (1.0 + np.exp(-logits))
    else:
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        scores = exp / exp.sum(axis=-1, keepdims=True)
    top = scores.argmax(axis=-1)
    labels = [str(config.id2label[int(i)]) for i in top]
    return labels, [float(scores[row, i]) for row, i in enumerate(top)]


def guess_text_column(path: Path) -> tuple[str, ...]:
    """``("sentence",)`` or ``("text",)``, whichever column the file has."""
    for name in ("sentence", "text"):
        try:
            source = table_source(path, [name])
            next(source.rows(), None)
        except TinyBertError as err:
            if "missing column" in str(err):
                continue
            raise
        return (name,)
    raise TinyBertError(f"{path}: no 'sentence' or 'text' column; name the text with --text-column")


def _text_columns(config: PredictConfig) -> tuple[str, ...]:
    if config.text_columns:
        return config.text_columns
    if config.task is not None:
        return _GLUE_LAYOUTS[get_task(config.task).name].text_columns
    return guess_text_column(config.input)


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _max_length(config: PredictConfig, model: InferenceModel) -> int:
    if config.max_seq_length is not None:
        return config.max_seq_length
    if config.task is not None:
        return get_task(config.task).max_seq_length
    limits = [getattr(model.config, "max_position_embeddings", 512), model.tokenizer.model_max_length]
    return int(min(x for x in limits if isinstance(x, int) and x > 0))


def _with_output_columns(source: RowSource) -> RowSource:
    if source.header is None:
        return source
    taken = [c for c in OUTPUT_COLUMNS if c in source.header]
    if taken:
        raise TinyBertError(f"{source.path}: already has a column named {taken[0]!r}, which predict writes")
    return replace(source, header=[*source.header, *OUTPUT_COLUMNS])


def predict_rows(model: InferenceModel, rows: list[Row], max_length: int, batch_size: int) -> np.ndarray:
    """Logits (N, C) of the rows' texts (or text pairs), in row order."""
    logits = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        texts_a = [r.texts[0] for r in batch]
        texts_b = [r.texts[1] for r in batch] if len(batch[0].texts) == 2 else None
        encoded = model.tokenizer(
            texts_a, texts_b, padding=True, truncation=True, max_length=max_length, return_tensors="np"
        )
        logits.append(model.logits(dict(encoded)))
    return np.concatenate(logits)


def run_predict(config: PredictConfig) -> dict:
    """Label every row of ``config.input``; returns ``{"rows": N, "labels": {name: count}, "output": path}``."""
    model = load_inference_model(config.model, device=config.device)
    source = table_source(config.input, _text_columns(config))
    out_source = _with_output_columns(source)
    if config.output is not None and not output_suffix_ok(source, config.output):
        raise TinyBertError(
            f"--output {config.output}: expected the input's file type ({source.path.suffix}); "
            "predict writes rows in the input's format"
        )
    max_length = _max_length(config, model)
    counts: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        if config.output is None:
            handle = sys.stdout
        else:
            handle = stack.enter_context(atomic_output(config.output, config.overwrite, [config.input]))
        writer = out_source.writer(handle)
        progress = stack.enter_context(tqdm(unit=" rows", desc="predict", disable=config.output is None))
        for chunk in _chunks(source.rows(), CHUNK_ROWS):
            labels, scores = pipeline_scores(predict_rows(model, chunk, max_length, config.batch_size), model)
            for row, label, score in zip(chunk, labels, scores, strict=True):
                record = row.record
                if isinstance(record, dict):
                    taken = [c for c in OUTPUT_COLUMNS if c in record]
                    if taken:
                        raise TinyBertError(f"{row.where}: already has a key {taken[0]!r}, which predict writes")
                    writer.write({**record, "predicted_label": label, "score": score})
                else:
                    writer.write([*record, label, f"{score:.6g}"])
                counts[label] += 1
            progress.update(len(chunk))
        writer.close()
    return {"rows": sum(counts.values()), "labels": dict(counts), "output": str(config.output or "-")}


def predict(model: Any, input: Any, **options: Any) -> dict:
    """Label a file; the options of ``tinybert predict`` (:class:`~tinybert.config.PredictConfig`)."""
    return run_predict(build(PredictConfig, {"model": model, "input": input, **options}))


predict.__signature__ = signature(PredictConfig, first=("model", "input"))  # type: ignore[attr-defined]
