"""The teacher's prediction views computed once, before the prediction stage."""

from __future__ import annotations

import logging

from accelerate import Accelerator
from transformers import PreTrainedModel

from tinybert.data.features import make_loader
from tinybert.distillation.objective import teacher_key
from tinybert.evaluation import predict_views
from tinybert.tasks.base import DEFAULT_TASK_TYPE, get_task_type
from tinybert.tasks.loading import Features

log = logging.getLogger(__name__)


def with_teacher_logits(
    teacher: PreTrainedModel, features: Features, accelerator: Accelerator, batch_size: int = 64
) -> list[dict]:
    """The training features, each with the teacher's prediction views under :func:`teacher_key`
    ``(v)`` (sequence tasks: its logits (C,) under ``TEACHER_LOGITS``; per-position views are kept
    per example at its own length (L_i, ...), and the loader zero-pads them per batch).

    The teacher is frozen and in eval mode, so its outputs for an example are the same in every
    epoch: one pass here replaces a teacher forward in every step of the prediction stage
    (BENCHMARKS.md, "Training speed": the demo's prediction stage 1.23x faster on CPU).
    """
    task_type = getattr(features, "task_type", None) or get_task_type(DEFAULT_TASK_TYPE)
    # Shortest first, so that each batch pads little (the training loop groups by length too).
    order = sorted(range(len(features.train)), key=lambda i: len(features.train[i]["input_ids"]))
    by_length = [features.train[i] for i in order]
    collator = getattr(features, "collator", None)
    loader = accelerator.prepare(make_loader(by_length, features.tokenizer, batch_size, False, collator=collator))
    views, _ = predict_views(teacher, loader, accelerator, task_type)  # views[v][j]: example order[j]
    row_of = {i: [view[j] for view in views] for j, i in enumerate(order)}
    return [
        {**f, **{teacher_key(v): scores.tolist() for v, scores in enumerate(row_of[i])}}
        for i, f in enumerate(features.train)
    ]
