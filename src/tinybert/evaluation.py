"""Metrics of a model on every evaluation split."""

from __future__ import annotations

import logging

from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import PreTrainedModel

from tinybert.data.loading import Features
from tinybert.errors import TinyBertError
from tinybert.tasks.metrics import compute_metrics
from tinybert.training.loop import predict

log = logging.getLogger(__name__)


def evaluate_model(
    model: PreTrainedModel,
    features: Features,
    accelerator: Accelerator,
    batch_size: int = 64,
    loaders: dict[str, DataLoader] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on every evaluation split: {split: {metric: value}}."""
    loaders = loaders or {k: accelerator.prepare(v) for k, v in features.eval_loaders(batch_size).items()}
    results = {}
    for split, loader in loaders.items():
        logits, labels = predict(model, loader, accelerator)
        if labels is None:
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        results[split] = compute_metrics(features.task.spec, logits, labels, positive_label=features.positive_label)
    return results
