"""Predictions and metrics of a model on every evaluation split, through its task type."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader
from transformers import PreTrainedModel

from tinybert.data.features import model_inputs
from tinybert.deploy.runtime import InferenceModel
from tinybert.errors import TinyBertError
from tinybert.tasks.base import TaskType, per_example, split_metrics
from tinybert.tasks.loading import Features

log = logging.getLogger(__name__)

__all__ = ["evaluate_model", "predict_views", "runtime_forward"]


Forward = Callable[..., Mapping[str, torch.Tensor]]
"""Model inputs as keywords -> outputs by name: a Hugging Face model, or :func:`runtime_forward`."""


def runtime_forward(model: InferenceModel) -> Forward:
    """A deployed model (ONNX, int8, ...) as a :data:`Forward` over torch tensors."""

    def forward(**inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v) for k, v in model.outputs(inputs).items()}

    return forward


@torch.inference_mode()
def predict_views(
    model: nn.Module | Forward, loader: DataLoader, accelerator: Accelerator | None, task_type: TaskType
) -> tuple[list[list[np.ndarray]], list[np.ndarray] | None]:
    """The task type's prediction views of ``model`` over ``loader``, per example in order.

    ``accelerator``: gathers the results of every process (None: a single process).

    Returns:
        ``(views, labels)``: ``views[v][i]`` is view v of example i as float32, (C,) for a
        per-example view, (L_i, ...) cut to the example's length for a per-position one;
        ``labels[i]`` the example's labels (cut the same way when per position), or None when
        the batches have none.
    """
    if isinstance(model, nn.Module):
        model.eval()

    def gather(values: torch.Tensor, pad_index: int = 0) -> torch.Tensor:
        if accelerator is None:
            return values
        if values.dim() > 1:  # (B, L, ...): pad L to the longest over processes before gathering
            values = accelerator.pad_across_processes(values, dim=1, pad_index=pad_index)
        return accelerator.gather_for_metrics(values)

    views: list[list[np.ndarray]] = [[] for _ in task_type.output_names]
    labels: list[np.ndarray] = []
    for batch in loader:
        out = model(**model_inputs(batch))
        attention = gather(batch["attention_mask"])  # (B, L)
        batch_views = [(gather(scores), mask) for scores, mask in task_type.views(out, batch)]
        for v, arrays in enumerate(per_example(batch_views, attention)):
            views[v].extend(arrays)
        if "labels" in batch:
            gold = gather(batch["labels"], pad_index=-100)  # (B,), or (B, L) per position
            labels.extend(per_example([(gold, None if gold.dim() == 1 else gold)], attention)[0])
    return views, (labels or None)


def evaluate_model(
    model: PreTrainedModel,
    features: Features,
    accelerator: Accelerator,
    batch_size: int = 64,
    loaders: dict[str, DataLoader] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on every evaluation split: {split: {metric: value}}."""
    loaders = loaders or {k: accelerator.prepare(v) for k, v in features.eval_loaders(batch_size).items()}
    task_type = features.task_type
    results = {}
    for split, loader in loaders.items():
        views, labels = predict_views(model, loader, accelerator, task_type)
        if labels is None and getattr(task_type, "example_metrics", None) is None:
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        examples, split_features = features.task.evals[split], features.evals[split]
        results[split] = split_metrics(
            task_type, features.task.spec, views, labels, examples, split_features, features.positive_label
        )
    return results
