"""Batch inference on a CSV / TSV / JSONL file with any model kind (PyTorch, int8, ONNX).

Every input row comes out with all its columns and the model's task type's prediction columns,
computed as that task type's ``transformers.pipeline`` computes them. Sequence classifiers add
``predicted_label`` and ``score``, exactly as ``pipeline("text-classification")`` computes its
``label`` and ``score``: softmax over the classes (sigmoid for a single non-regression output, the
raw value for a regression model) and the top class's name from the model's ``id2label``.
The texts are tokenised by the task type's one tokenisation path (as in training).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from tinybert.config import PredictConfig
from tinybert.data.glue import get_task
from tinybert.data.rows import (
    Row,
    RowSource,
    atomic_output,
    check_output,
    guess_text_column,
    output_suffix_ok,
    table_source,
)
from tinybert.deploy.runtime import InferenceModel, load_inference_model
from tinybert.errors import TinyBertError
from tinybert.io.outputs import atomic_file
from tinybert.results import PredictResult
from tinybert.tasks.base import per_example, text_batches

__all__ = ["PredictConfig", "predict_rows", "run_predict"]
CHUNK_ROWS = 1024  # rows read, predicted and written at a time: memory stays flat on large files


def _glue_text_columns(task: str) -> tuple[str, ...]:
    spec = get_task(task)
    if spec.files is None:
        raise TinyBertError(f"--task {task}: has no text columns")
    return spec.files.text_columns


def _text_columns(config: PredictConfig, model: InferenceModel) -> tuple[str, ...]:
    if config.data.text_columns:
        return config.data.text_columns
    own = getattr(model.task_type, "text_columns", None)  # e.g. extractive QA: question, context
    if own:
        return tuple(own)
    if config.data.task is not None:
        return _glue_text_columns(config.data.task)
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
    if config.data.max_seq_length is not None:
        return config.data.max_seq_length
    if config.data.task is not None:
        return get_task(config.data.task).max_seq_length
    recorded = getattr(model.task_type, "model_max_seq_length", None)  # a sentence embedder's head's limit
    if recorded is not None and recorded(model.config):
        return int(recorded(model.config))
    own = getattr(model.task_type, "predict_max_seq_length", None)  # the task type's pipeline default
    if own:
        return int(min(own, getattr(model.config, "max_position_embeddings", own)))
    limits = [getattr(model.config, "max_position_embeddings", 512), model.tokenizer.model_max_length]
    return int(min(x for x in limits if isinstance(x, int) and x > 0))


def _with_output_columns(source: RowSource, columns: tuple[str, ...]) -> RowSource:
    if source.header is None:
        return source
    taken = [c for c in columns if c in source.header]
    if taken:
        raise TinyBertError(f"{source.path}: already has a column named {taken[0]!r}, which predict writes")
    return replace(source, header=[*source.header, *columns])


def predict_rows(model: InferenceModel, rows: list[Row], max_length: int, batch_size: int) -> list[dict[str, Any]]:
    """The task type's predictions (column -> value) for the rows' texts (or text pairs), in row order."""
    task_type = model.task_type
    results: list[dict[str, Any]] = []
    for batch, examples, features in text_batches(
        task_type, model.tokenizer, [r.texts for r in rows], max_length, batch_size
    ):
        outputs = {k: torch.from_numpy(v) for k, v in model.outputs(batch).items()}
        views = per_example(task_type.views(outputs, batch), batch["attention_mask"])
        results.extend(task_type.postprocess(views, examples, features, model.config))
    return results


def _cell(value: Any) -> str:
    """A prediction as a CSV/TSV field: numbers to 6 significant digits, lists as JSON."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _predict_array(config: PredictConfig, model: InferenceModel, source: RowSource) -> PredictResult:
    """``--output X.npy``: the task type's ``array_column`` (sentence embeddings: ``embedding``) of
    every row as one float32 array (N, D), rows in input order."""
    column = getattr(model.task_type, "array_column", None)
    if column is None:
        raise TinyBertError(
            f"--output {config.run.output}: a .npy file holds one vector per row, which a "
            f"{model.task_type.name} model does not give; write the input's file type ({source.path.suffix})"
        )
    output = config.run.output
    check_output(output, config.run.overwrite, [config.input])
    vectors: list[Any] = []
    with tqdm(unit=" rows", desc="predict") as progress:
        for chunk in _chunks(source.rows(), CHUNK_ROWS):
            results = predict_rows(model, chunk, _max_length(config, model), config.inference.eval_batch_size)
            vectors.extend(result[column] for result in results)
            progress.update(len(chunk))
    if not vectors:
        raise TinyBertError(f"{config.input}: no rows")
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(output, suffix=".npy") as tmp:
        np.save(tmp, np.asarray(vectors, dtype=np.float32))
    return PredictResult(rows=len(vectors), labels={"(rows)": len(vectors)}, output=str(output))


def run_predict(config: PredictConfig) -> PredictResult:
    """Label every row of ``config.input``; returns how many rows got each label."""
    model = load_inference_model(config.model, device=config.inference.device)
    source = table_source(config.input, _text_columns(config, model))
    columns = tuple(model.task_type.prediction_columns)
    if config.run.output is not None and config.run.output.suffix == ".npy":
        return _predict_array(config, model, source)
    out_source = _with_output_columns(source, columns)
    if config.run.output is not None and not output_suffix_ok(source, config.run.output):
        raise TinyBertError(
            f"--output {config.run.output}: expected the input's file type ({source.path.suffix}); "
            "predict writes rows in the input's format"
        )
    max_length = _max_length(config, model)
    counts: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        if config.run.output is None:
            handle = sys.stdout
        else:
            handle = stack.enter_context(atomic_output(config.run.output, config.run.overwrite, [config.input]))
        writer = out_source.writer(handle)
        progress = stack.enter_context(tqdm(unit=" rows", desc="predict", disable=config.run.output is None))
        for chunk in _chunks(source.rows(), CHUNK_ROWS):
            results = predict_rows(model, chunk, max_length, config.inference.eval_batch_size)
            for row, result in zip(chunk, results, strict=True):
                record = row.record
                if isinstance(record, dict):
                    taken = [c for c in columns if c in record]
                    if taken:
                        raise TinyBertError(f"{row.where}: already has a key {taken[0]!r}, which predict writes")
                    writer.write({**record, **{c: result[c] for c in columns}})
                else:
                    writer.write([*record, *(_cell(result[c]) for c in columns)])
                first = result[columns[0]]  # a predicted label is counted; answers, tag lists are rows
                counts[first if columns[0] == "predicted_label" and isinstance(first, str) else "(rows)"] += 1
            progress.update(len(chunk))
        writer.close()
    return PredictResult(rows=sum(counts.values()), labels=dict(counts), output=str(config.run.output or "-"))
