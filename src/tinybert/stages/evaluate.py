"""``tinybert evaluate``: a model's task metrics on its evaluation splits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from accelerate import Accelerator

from tinybert.config import (
    DataConfig,
    EvaluateConfig,
)
from tinybert.data import TaskData
from tinybert.deploy.runtime import is_export, load_inference_model
from tinybert.errors import TinyBertError
from tinybert.evaluation import evaluate_model, predict_views, runtime_forward
from tinybert.io.outputs import write_json
from tinybert.models.loading import (
    check_labels,
    load_classifier,
    load_tokenizer,
)
from tinybert.models.structure import sequence_length
from tinybert.tasks.base import get_task_type, split_metrics, text_batches
from tinybert.tasks.embedding import (
    EMBEDDING,
    agreement,
    mrpc_pairs,
    read_passages,
    score_pairs,
    score_retrieval,
    squad_retrieval,
)
from tinybert.tasks.loading import Features, load_data, model_labels
from tinybert.tasks.sentence import encode

log = logging.getLogger(__name__)


def _evaluate_export(model: str, task: TaskData, max_seq_length: int | None, batch_size: int) -> dict:
    """Metrics of an ONNX or PyTorch-int8 export (``tinybert export``) on every evaluation split."""
    runtime = load_inference_model(model)
    check_labels(runtime.config, task.spec.label_names, "--model")
    features = Features(task, runtime.tokenizer, model_labels(runtime, task), max_seq_length)
    task_type = features.task_type
    if runtime.task_type.name != task_type.name:
        raise TinyBertError(
            f"--model {model}: is a {runtime.task_type.name} model, the data is read as a {task_type.name} task"
        )
    results = {}
    for split, loader in features.eval_loaders(batch_size).items():
        views, labels = predict_views(runtime_forward(runtime), loader, None, task_type)
        by_example = getattr(task_type, "example_metrics", None) is not None
        if not by_example and (labels is None or len(labels) != len(features.evals[split])):
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        examples = task.evals[split]
        results[split] = split_metrics(
            task_type, task.spec, views, labels, examples, features.evals[split], features.positive_label
        )
    return results


def run_evaluate(config: EvaluateConfig) -> dict[str, dict[str, float]]:
    """``tinybert evaluate``: :func:`evaluate_folder` with the command's options (sentence
    embeddings: :func:`evaluate_embeddings`)."""
    batch_size = config.inference.eval_batch_size
    if config.data.task_type == EMBEDDING.name:
        return evaluate_embeddings(config)
    return evaluate_folder(
        config.model, config.data, split=config.split, output=config.run.output, batch_size=batch_size
    )


def evaluate_embeddings(config: EvaluateConfig) -> dict[str, dict[str, float]]:
    """A sentence embedder's figures (:mod:`tinybert.tasks.embedding`), each group as a split:
    ``pairs`` (``ap``, ``accuracy``, ``threshold``), ``retrieval`` (``mrr@10``, ``recall@1``,
    ``recall@10``) and, with ``--reference`` and ``--dev``, ``dev`` (``agreement``). With
    ``--reference``, each figure also as ``reference_NAME`` and ``retention_NAME`` (model / reference)."""
    options, batch_size = config.data.embedding, config.inference.eval_batch_size
    pairs = mrpc_pairs(options.pairs) if options.pairs is not None else None
    questions = squad_retrieval(options.retrieval) if options.retrieval is not None else None
    dev = read_passages(config.data.dev, config.data.text_columns) if config.data.dev is not None else None
    if dev is not None and options.reference is None:
        raise TinyBertError("--dev: the agreement on it needs --reference (the teacher)")
    models = {"model": config.model, **({"reference": options.reference} if options.reference else {})}
    figures: dict[str, dict[str, dict[str, float]]] = {}  # model -> group -> figure
    embedded: dict[str, np.ndarray] = {}
    for name, path in models.items():
        run = _encoder(path, "--model" if name == "model" else "--reference", options.pooling, batch_size)
        figures[name] = {}
        if pairs is not None:
            figures[name]["pairs"] = score_pairs(run, pairs)
        if questions is not None:
            figures[name]["retrieval"] = score_retrieval(run, questions)
        if dev is not None:
            embedded[name] = run([p.text for p in dev])
    if dev is not None:
        figures["model"]["dev"] = {"agreement": agreement(embedded["reference"], embedded["model"])}
    results = figures["model"]
    if "reference" in figures:
        for group, values in figures["reference"].items():
            for key, value in values.items():
                results[group][f"reference_{key}"] = value
                if key != "threshold" and value:
                    results[group][f"retention_{key}"] = results[group][key] / value
    if config.run.output is not None:
        write_json(Path(config.run.output), {**models, "eval": results})
    return results


def _encoder(path: str, option: str, pooling: str | None, batch_size: int) -> Callable[[Sequence[str]], np.ndarray]:
    """Texts -> the embeddings of the sentence embedder at ``path``, on the CPU or the GPU (an
    export: through the runtime ``predict`` and ``benchmark`` use)."""
    if is_export(path):
        return _export_encoder(path, option, batch_size)
    model = load_classifier(path, None, option, new_head=False, task_type=EMBEDDING, head_options={"pooling": pooling})
    tokenizer = load_tokenizer(path, option)
    model.to(Accelerator().device)
    return lambda texts: encode(model, tokenizer, list(texts), batch_size=batch_size)


def _export_encoder(path: str, option: str, batch_size: int) -> Callable[[Sequence[str]], np.ndarray]:
    """Texts -> (N, D) float32 embeddings of an exported sentence embedder (ONNX, int8), in order,
    each text cut at the token limit its head records (as the PyTorch model's :func:`encode`)."""
    runtime = load_inference_model(path)
    if runtime.task_type.name != EMBEDDING.name:
        raise TinyBertError(f"{option} {path}: is a {runtime.task_type.name} export, not a sentence embedder")
    limit = EMBEDDING.model_max_seq_length(runtime.config) or min(runtime.tokenizer.model_max_length, 512)

    def run(texts: Sequence[str]) -> np.ndarray:
        rows = [[text] for text in texts]
        batches = text_batches(EMBEDDING, runtime.tokenizer, rows, limit, batch_size)
        vectors = [runtime.outputs(batch)[EMBEDDING.output_names[0]] for batch, _, _ in batches]  # (B, D) each
        return np.concatenate(vectors).astype(np.float32)

    return run


def evaluate_folder(
    model: str, data: DataConfig, split: str | None = None, output: Path | None = None, batch_size: int = 64
) -> dict[str, dict[str, float]]:
    """The task's metrics of ``model`` on its evaluation split(s): {split: {metric: value}}.

    Also written to ``output`` (a JSON file) when given.
    """
    task = load_data(data, need_train=False)
    if split is not None:
        if split not in task.evals:
            raise TinyBertError(f"--split {split}: expected one of {', '.join(task.evals) or '(none)'}")
        task = replace(task, evals={split: task.evals[split]})
    if is_export(model):
        metrics = _evaluate_export(model, task, data.max_seq_length, batch_size)
    else:
        net = load_classifier(
            model, task.spec.label_names, "--model", new_head=False, task_type=get_task_type(task.task_type)
        )
        tokenizer = load_tokenizer(model, "--model")
        length = sequence_length(
            net, data.max_seq_length, task.spec.max_seq_length, "--max-seq-length", f"--model {model}"
        )
        features = Features(task, tokenizer, model_labels(net, task), length)
        accelerator = Accelerator()
        net.to(accelerator.device)
        metrics = evaluate_model(net, features, accelerator, batch_size=batch_size)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(output), {"model": model, "task": task.spec.name, "eval": metrics})
    return metrics
