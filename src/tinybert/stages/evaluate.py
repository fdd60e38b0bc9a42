"""``tinybert evaluate``: a model's task metrics on its evaluation splits."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

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
from tinybert.tasks.base import get_task_type, split_metrics
from tinybert.tasks.loading import Features, load_data, model_labels

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
    """``tinybert evaluate``: :func:`evaluate_folder` with the command's options."""
    batch_size = config.inference.eval_batch_size
    return evaluate_folder(
        config.model, config.data, split=config.split, output=config.run.output, batch_size=batch_size
    )


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
