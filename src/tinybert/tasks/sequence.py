"""Sequence classification and regression: one label (or one number) per text or text pair.

GLUE tasks and generic CSV/TSV/JSONL files. One prediction view: the head's logits (B, C) with no
mask (C = 1 for regression). The distillation loss is the paper's soft cross-entropy with
temperature (MSE to the teacher's prediction for regression); the metrics are GLUE's
(:mod:`tinybert.tasks.metrics`); predictions are labelled as ``pipeline("text-classification")``
labels them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding, PretrainedConfig

from tinybert.config import DataConfig
from tinybert.data.features import encode
from tinybert.data.glue import TaskSpec
from tinybert.data.readers import Example, TaskData, load_custom, load_glue
from tinybert.errors import TinyBertError
from tinybert.losses import regression_mse, soft_cross_entropy
from tinybert.tasks.base import Collator, View, register_task_type
from tinybert.tasks.metrics import compute_metrics

__all__ = ["SEQUENCE", "SequenceTask", "pipeline_scores"]


def pipeline_scores(logits: np.ndarray, config: PretrainedConfig) -> tuple[list[str], list[float]]:
    """Top label and its score per row of ``logits`` (N, C), as the text-classification pipeline does:
    softmax over the classes (sigmoid for a single non-regression output, the raw value for a
    regression model) and the top class's name from the config's ``id2label``."""
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


class SequenceTask:
    """The sequence classification / regression task type (see the module docstring)."""

    name = "sequence"
    architecture = "ForSequenceClassification"
    head_class = AutoModelForSequenceClassification
    pipeline_task = "text-classification"
    output_names = ("logits",)
    prediction_columns = ("predicted_label", "score")

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        """A GLUE task's folder (``data.task``) or generic files; training also needs a dev split,
        on which the best checkpoint is chosen."""
        limits = {"train": data.max_train_samples, "eval": data.max_eval_samples}
        limits = {k: v for k, v in limits.items() if v is not None}
        if data.task is not None:
            splits = ("train", "dev") if need_train else ("dev",)
            train_file = data.train if need_train else None
            return load_glue(data.task, data.data_dir, splits=splits, max_samples=limits or None, train_file=train_file)
        if need_train and data.train is None:
            raise TinyBertError("--train FILE is required for training")
        if need_train and data.dev is None:
            raise TinyBertError("--dev FILE is required: the best checkpoint is chosen on it")
        evals = {"dev": data.dev} if data.dev is not None else {}
        return load_custom(
            data.train if need_train else None,
            evals,
            data.text_columns,
            data.label_column,
            regression=data.regression,
            max_samples=limits or None,
        )

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[Example]:
        return [Example(text_a=t[0], text_b=t[1] if len(t) > 1 else None, label=None) for t in texts]

    def texts(self, example: Example) -> list[str]:
        return [example.text_a] if example.text_b is None else [example.text_a, example.text_b]

    def featurize(
        self,
        examples: Sequence[Example],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        """:func:`tinybert.data.features.encode`: the one tokenisation of texts and text pairs."""
        return encode(examples, tokenizer, max_seq_length, label2id, regression)

    def collator(self, tokenizer: Any) -> Collator:
        return DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list[View]:
        return [(outputs["logits"], None)]  # (B, C)

    def soft_loss(
        self, student: list[View], teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        (s_logits, _), t_logits = student[0], teacher[0]  # (B, C) each
        if regression:
            return regression_mse(s_logits, t_logits)
        return soft_cross_entropy(s_logits, t_logits, temperature)

    def hard_loss(self, student: list[View], labels: torch.Tensor, regression: bool) -> torch.Tensor:
        logits = student[0][0]  # (B, C); labels (B,)
        if regression:
            return F.mse_loss(logits.reshape(-1), labels.to(logits.dtype))
        return F.cross_entropy(logits, labels)

    def metrics(
        self,
        spec: TaskSpec,
        predictions: list[list[np.ndarray]],
        labels: list[np.ndarray],
        positive_label: int | None,
    ) -> dict[str, float]:
        logits = np.stack(predictions[0]) if predictions[0] else np.zeros((0,))  # (N, C)
        gold = np.stack(labels) if labels else np.zeros((0,))  # (N,)
        return compute_metrics(spec, logits, gold, positive_label=positive_label)

    def postprocess(
        self,
        predictions: list[list[np.ndarray]],
        examples: Sequence[Example],
        features: Sequence[dict],
        config: PretrainedConfig,
    ) -> list[dict[str, Any]]:
        labels, scores = pipeline_scores(np.stack(predictions[0]), config)
        return [{"predicted_label": label, "score": score} for label, score in zip(labels, scores, strict=True)]


SEQUENCE = register_task_type(SequenceTask())
