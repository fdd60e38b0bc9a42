"""Tests of tinybert.tasks.metrics against hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tinybert.data.glue import GLUE_TASKS, TaskSpec, get_task
from tinybert.errors import TinyBertError
from tinybert.tasks.metrics import compute_metrics, main_metric_value

CUSTOM = TaskSpec(
    name="custom",
    is_regression=False,
    label_names=("a", "b", "c"),
    main_metric="accuracy",
    max_seq_length=64,
    is_pair=False,
    train_file=None,
    eval_files={},
)

# predictions / labels shared by the binary tests:
# index:   0  1  2  3  4
# pred:    1  1  0  0  1
# label:   1  0  0  1  1   -> TP=2 (0, 4), FP=1 (1), TN=1 (2), FN=1 (3)
PREDS = np.array([1, 1, 0, 0, 1])
LABELS = np.array([1, 0, 0, 1, 1])


def test_accuracy_from_ids_and_logits() -> None:
    logits = np.array([[0.1, 0.9], [0.2, 0.8], [3.0, -1.0], [0.6, 0.4], [-2.0, 2.0]])
    from_logits = compute_metrics(get_task("sst2"), logits, LABELS)
    from_ids = compute_metrics(get_task("sst2"), PREDS, LABELS)
    assert from_logits == from_ids == {"accuracy": pytest.approx(3 / 5)}


def test_mrpc_f1_and_combined() -> None:
    metrics = compute_metrics(get_task("mrpc"), PREDS, LABELS)
    f1 = 2 * 2 / (2 * 2 + 1 + 1)  # 2TP / (2TP + FP + FN) = 2/3
    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["f1"] == pytest.approx(f1)
    assert metrics["accuracy_and_f1"] == pytest.approx((0.6 + f1) / 2)


def test_f1_positive_label() -> None:
    # class 0 as positive: TP=1 (2), FP=1 (3), FN=1 (1) -> 2/4
    assert compute_metrics(get_task("qqp"), PREDS, LABELS, positive_label=0)["f1"] == pytest.approx(0.5)


def test_f1_without_positives_is_zero() -> None:
    metrics = compute_metrics(get_task("qqp"), np.zeros(4), np.zeros(4))
    assert metrics["f1"] == 0.0 and metrics["accuracy"] == 1.0


def test_cola_mcc() -> None:
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3 * 3 * 2 * 2) = 1/6
    metrics = compute_metrics(get_task("cola"), PREDS, LABELS)
    assert metrics["mcc"] == pytest.approx(1 / 6)
    assert compute_metrics(get_task("cola"), LABELS, LABELS)["mcc"] == pytest.approx(1.0)
    assert compute_metrics(get_task("cola"), 1 - LABELS, LABELS)["mcc"] == pytest.approx(-1.0)


def test_mcc_constant_predictions_is_zero() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compute_metrics(get_task("cola"), np.ones(5), LABELS)["mcc"] == 0.0


def test_custom_macro_f1() -> None:
    # class 0: F1 1; class 1: TP=1, FN=1 -> 2/3; class 2: TP=1, FP=1 -> 2/3
    metrics = compute_metrics(CUSTOM, np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
    assert metrics == {"accuracy": pytest.approx(0.75), "f1_macro": pytest.approx(7 / 9)}


def test_regression_perfect_and_known_correlations() -> None:
    stsb = get_task("stsb")
    x = np.array([0.0, 1.0, 2.5, 4.0])
    perfect = compute_metrics(stsb, 2 * x + 1, x)
    assert perfect == {"pearson": pytest.approx(1.0), "spearmanr": pytest.approx(1.0), "corr": pytest.approx(1.0)}
    assert compute_metrics(stsb, -x[:, None], x)["pearson"] == pytest.approx(-1.0)  # (N, 1) predictions
    # x = [1, 2, 3], y = [1, 3, 2]: cov = 1, var = 2 each -> r = 0.5; same ranks -> rho = 0.5
    known = compute_metrics(stsb, np.array([1.0, 3.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    assert known["pearson"] == pytest.approx(0.5) and known["spearmanr"] == pytest.approx(0.5)
    assert known["corr"] == pytest.approx(0.5)


def test_regression_constant_predictions_give_zero() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = compute_metrics(get_task("stsb"), np.full(4, 2.5), np.array([0.0, 1.0, 2.0, 5.0]))
        single = compute_metrics(get_task("stsb"), np.array([1.0]), np.array([2.0]))
    assert metrics == {"pearson": 0.0, "spearmanr": 0.0, "corr": 0.0}
    assert single == {"pearson": 0.0, "spearmanr": 0.0, "corr": 0.0}


@pytest.mark.parametrize("name", sorted(GLUE_TASKS))
def test_every_task_reports_its_main_metric_as_float(name: str) -> None:
    spec = GLUE_TASKS[name]
    rng = np.random.default_rng(0)
    if spec.is_regression:
        preds, labels = rng.normal(size=20), rng.normal(size=20)
    else:
        num = len(spec.label_names or ())
        preds, labels = rng.normal(size=(20, num)), rng.integers(0, num, size=20)
    metrics = compute_metrics(spec, preds, labels)
    assert all(type(v) is float and math.isfinite(v) for v in metrics.values())
    assert main_metric_value(spec, metrics) == metrics[spec.main_metric]


def test_main_metric_missing() -> None:
    with pytest.raises(TinyBertError, match=r"'mcc'.*accuracy"):
        main_metric_value(get_task("cola"), {"accuracy": 0.5})


def test_shape_errors() -> None:
    with pytest.raises(TinyBertError, match="3 predictions but 2 labels"):
        compute_metrics(get_task("sst2"), np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(TinyBertError, match="no predictions"):
        compute_metrics(get_task("sst2"), np.array([]), np.array([]))
    with pytest.raises(TinyBertError, match="shape"):
        compute_metrics(get_task("stsb"), np.zeros((3, 2)), np.zeros(3))
