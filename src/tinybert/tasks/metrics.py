"""GLUE evaluation metrics: the sequence task type's (:mod:`tinybert.tasks.sequence`).

All values are plain Python floats. Accuracy and F1 are fractions in ``[0, 1]`` (not percent);
Matthews correlation and Pearson / Spearman correlations lie in ``[-1, 1]``. Degenerate inputs
(constant predictions, a single example) give ``0.0`` rather than ``nan``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats
from sklearn.metrics import f1_score, matthews_corrcoef

from tinybert.data.glue import GLUE_TASKS, TaskSpec
from tinybert.errors import TinyBertError

__all__ = ["compute_metrics", "main_metric_value"]

F1_TASKS = ("mrpc", "qqp")
MCC_TASKS = ("cola",)


def _finite(value: float) -> float:
    """``value`` as a Python float, with ``nan``/``inf`` replaced by ``0.0``."""
    value = float(value)
    return value if np.isfinite(value) else 0.0


def _as_class_ids(predictions: np.ndarray) -> np.ndarray:
    """Logits ``(N, C)`` -> argmax ids ``(N,)``; ids ``(N,)`` are returned as int64."""
    if predictions.ndim == 2:
        return predictions.argmax(axis=-1).astype(np.int64)
    if predictions.ndim == 1:
        return np.rint(predictions).astype(np.int64)
    raise TinyBertError(
        "compute_metrics: classification predictions must be logits (N, C) or class ids (N,), "
        f"got shape {predictions.shape}"
    )


def _as_vector(values: np.ndarray, what: str) -> np.ndarray:
    """``(N,)`` or ``(N, 1)`` -> ``(N,)``."""
    if values.ndim == 2 and values.shape[1] == 1:
        return values[:, 0]
    if values.ndim != 1:
        raise TinyBertError(f"compute_metrics: {what} must have shape (N,) or (N, 1), got {values.shape}")
    return values


def binary_f1(predictions: np.ndarray, labels: np.ndarray, positive_label: int = 1) -> float:
    """F1 of the positive class: ``2 TP / (2 TP + FP + FN)``, ``0.0`` when undefined.

    Args:
        predictions: class ids, shape ``(N,)``.
        labels: class ids, shape ``(N,)``.
        positive_label: id of the positive class.
    """
    pred_pos = predictions == positive_label
    true_pos = labels == positive_label
    tp = int(np.sum(pred_pos & true_pos))
    fp = int(np.sum(pred_pos & ~true_pos))
    fn = int(np.sum(~pred_pos & true_pos))
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def _mcc(predictions: np.ndarray, labels: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(matthews_corrcoef(labels, predictions))


def _macro_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(f1_score(labels, predictions, average="macro", zero_division=0))


def _correlation(fn: Callable[..., object], x: np.ndarray, y: np.ndarray) -> float:
    """A scipy correlation statistic, ``0.0`` for constant or too short inputs."""
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            result = fn(x, y)
        except (ValueError, FloatingPointError):
            return 0.0
    return _finite(result.statistic)  # type: ignore[attr-defined]


def _classification_metrics(
    spec: TaskSpec, predictions: np.ndarray, labels: np.ndarray, positive_label: int | None
) -> dict[str, float]:
    preds = _as_class_ids(predictions)
    gold = np.rint(_as_vector(labels, "labels")).astype(np.int64)
    metrics = {"accuracy": float(np.mean(preds == gold))}
    if spec.name in F1_TASKS:
        metrics["f1"] = float(binary_f1(preds, gold, 1 if positive_label is None else positive_label))
        metrics["accuracy_and_f1"] = (metrics["accuracy"] + metrics["f1"]) / 2
    if spec.name in MCC_TASKS:
        metrics["mcc"] = _mcc(preds, gold)
    if spec.name not in GLUE_TASKS:
        metrics["f1_macro"] = _macro_f1(preds, gold)
    return metrics


def _regression_metrics(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    preds = _as_vector(predictions, "regression predictions").astype(np.float64)
    gold = _as_vector(labels, "labels").astype(np.float64)
    pearson = _correlation(stats.pearsonr, preds, gold)
    spearman = _correlation(stats.spearmanr, preds, gold)
    return {"pearson": pearson, "spearmanr": spearman, "corr": (pearson + spearman) / 2}


def compute_metrics(
    spec: TaskSpec,
    predictions: np.ndarray,
    labels: np.ndarray,
    positive_label: int | None = None,
) -> dict[str, float]:
    """Evaluation metrics of a task.

    Args:
        spec: the task; decides which metrics are computed.
        predictions: classification: logits ``(N, C)`` or class ids ``(N,)``;
            regression: ``(N,)`` or ``(N, 1)``.
        labels: class ids ``(N,)`` or regression targets ``(N,)``.
        positive_label: class id counted as positive for MRPC/QQP F1 (default 1, which is
            ``equivalent``/``duplicate`` in GLUE's label order).

    Returns:
        Classification: ``accuracy``; MRPC/QQP add ``f1`` and ``accuracy_and_f1``; CoLA adds
        ``mcc``; custom tasks add ``f1_macro``. Regression: ``pearson``, ``spearmanr`` and their
        mean ``corr``.

    Raises:
        TinyBertError: empty inputs, or predictions and labels of different lengths / shapes.
    """
    preds = np.asarray(predictions)
    gold = np.asarray(labels)
    if preds.ndim == 0 or gold.ndim == 0 or len(preds) == 0:
        raise TinyBertError("compute_metrics: no predictions to evaluate")
    if len(preds) != len(gold):
        raise TinyBertError(f"compute_metrics: {len(preds)} predictions but {len(gold)} labels")
    if spec.is_regression:
        return _regression_metrics(preds, gold)
    return _classification_metrics(spec, preds, gold, positive_label)


def main_metric_value(spec: TaskSpec, metrics: dict[str, float]) -> float:
    """The value of the task's main metric (used to pick the best checkpoint)."""
    if spec.main_metric not in metrics:
        available = ", ".join(sorted(metrics)) or "none"
        raise TinyBertError(
            f"main metric '{spec.main_metric}' of task {spec.name} is missing from the metrics ({available})"
        )
    return float(metrics[spec.main_metric])
