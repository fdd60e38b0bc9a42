"""Predictions and metrics of a model on every evaluation split, through its task type."""

from __future__ import annotations

import logging

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader
from transformers import PreTrainedModel

from tinybert.data.features import model_inputs
from tinybert.data.loading import Features
from tinybert.errors import TinyBertError
from tinybert.tasks.base import TaskType, per_example

log = logging.getLogger(__name__)

__all__ = ["evaluate_model", "predict"]


@torch.inference_mode()
def predict(
    model: nn.Module, loader: DataLoader, accelerator: Accelerator, task_type: TaskType
) -> tuple[list[list[np.ndarray]], list[np.ndarray] | None]:
    """The task type's prediction views of ``model`` over ``loader``, per example in order.

    Returns:
        ``(views, labels)``: ``views[v][i]`` is view v of example i as float32, (C,) for a
        per-example view, (L_i, ...) cut to the example's length for a per-position one;
        ``labels[i]`` the example's labels (cut the same way when per position), or None when
        the batches have none.
    """
    model.eval()
    views: list[list[np.ndarray]] = []
    labels: list[np.ndarray] = []
    for batch in loader:
        out = model(**model_inputs(batch))
        lengths_mask = accelerator.gather_for_metrics(accelerator.pad_across_processes(batch["attention_mask"], dim=1))
        gathered = []
        for scores, mask in task_type.views(out, batch):
            if mask is not None:  # (B, L, ...): pad L to the longest over processes before gathering
                scores = accelerator.pad_across_processes(scores, dim=1)
            gathered.append((accelerator.gather_for_metrics(scores), mask))
        for v, arrays in enumerate(per_example(gathered, lengths_mask)):
            if v == len(views):
                views.append([])
            views[v].extend(arrays)
        if "labels" in batch:
            gold = batch["labels"]
            if gold.dim() > 1:  # (B, L): per-position labels, padded with -100
                gold = accelerator.pad_across_processes(gold, dim=1, pad_index=-100)
            gold = accelerator.gather_for_metrics(gold)
            per_position = None if gold.dim() == 1 else gold
            labels.extend(per_example([(gold, per_position)], lengths_mask)[0])
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
        views, labels = predict(model, loader, accelerator, task_type)
        if labels is None:
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        results[split] = task_type.metrics(features.task.spec, views, labels, features.positive_label)
    return results
