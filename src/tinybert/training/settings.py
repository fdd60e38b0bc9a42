"""The training loop's settings: the one option group every training command holds
(:class:`TrainingOptions`), and one run of the loop (:class:`LoopSettings`). No torch here: the
configs and ``tinybert --help`` load this module."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinybert.errors import TinyBertError
from tinybert.options import at_least, check_fields, fraction, non_negative, one_of, option, positive

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
FINETUNE_EPOCHS = 3.0
"""``finetune``'s epochs when --epochs is not given."""
GENERAL_LR = 1e-4
"""``general-distill``'s learning rate when --learning-rate is not given."""
FINETUNE_LR_BY_WIDTH = ((512, 1e-4), (768, 5e-5))
"""``finetune``'s learning rate when --learning-rate is not given: the first of these (widest
hidden size, rate) the model fits, else :data:`FINETUNE_LR_WIDE`."""
FINETUNE_LR_WIDE = 2e-5


def default_finetune_lr(hidden_size: int) -> float:
    """Learning rate that gives a strong teacher without tuning, by model width.

    Small encoders need a larger step: measured here, MiniLM-L6-H384 reached MRPC 80.9 acc and
    CoLA MCC 25.0 at 1e-4 but only 72.5 and 11.9 at 2e-5 (3 epochs, batch 32). BERT-base-sized
    models follow the BERT paper's 2e-5..5e-5 range.
    """
    return next((rate for width, rate in FINETUNE_LR_BY_WIDTH if hidden_size <= width), FINETUNE_LR_WIDE)


def _rates(value: tuple[float, ...]) -> str | None:
    bad = [r for r in value or () if r <= 0]
    return f"expected > 0, got {bad[0]}" if bad else None


@dataclass(frozen=True)
class TrainingOptions:
    """How the training loop runs (fine-tuning, and each distillation stage)."""

    epochs: float | None = option(None, check=positive)
    """Passes over the training data (fractions allowed); ignored with --max-steps. Default: finetune
    {const:FINETUNE_EPOCHS}; distill: each stage's (--intermediate-epochs, --prediction-epochs)."""
    learning_rate: tuple[float, ...] = option((), check=_rates)
    """Peak learning rate (AdamW, linear warm-up and decay). finetune: several, comma-separated, run a search
    and keep the best on dev; default by model width ({const:FINETUNE_LR_BY_WIDTH[0][1]} up to
    {const:FINETUNE_LR_BY_WIDTH[0][0]} wide, {const:FINETUNE_LR_BY_WIDTH[1][1]} up to
    {const:FINETUNE_LR_BY_WIDTH[1][0]}, else {const:FINETUNE_LR_WIDE}).
    distill: one, for every stage not given its own (--intermediate-lr, --prediction-lr). general-distill:
    one; default {const:GENERAL_LR}."""
    batch_size: int = option(32, check=at_least(1))
    """Examples per forward pass, per process."""
    warmup_ratio: float = option(0.1, check=fraction)
    """Share of the steps (of each stage) warming the learning rate up from 0; then linear decay."""
    weight_decay: float = option(0.01, check=non_negative)
    """AdamW weight decay (not on biases and LayerNorm weights)."""
    max_grad_norm: float = option(1.0, check=non_negative)
    """Clip the global gradient norm to this; 0 disables."""
    gradient_accumulation_steps: int = option(1, check=at_least(1))
    """Micro-batches per optimizer step: each step sees batch_size x this many examples (per process)."""
    max_steps: int | None = option(None, check=at_least(1))
    """Stop after N optimizer steps (per distillation stage); default: the epochs decide."""
    eval_steps: int | None = option(None, check=at_least(1))
    """Evaluate every N optimizer steps (default: at the end of every epoch)."""
    save_steps: int | None = option(None, check=at_least(1))
    """Checkpoint the whole training state every N steps into OUTPUT/checkpoints/ (default: at every
    evaluation), for --resume."""
    keep_checkpoints: int = option(1, check=at_least(1))
    """Newest checkpoints kept."""
    log_steps: int = option(10, check=at_least(1))
    """Log mean training losses every N steps."""
    precision: str = option("auto", check=one_of(*PRECISIONS))
    """auto (bf16 autocast on a CUDA GPU that supports it, else fp32), fp32, bf16 or fp16 (CUDA only).
    bf16 on this project's AVX2 CPU was about 11x slower than fp32: auto keeps CPUs at fp32."""
    seed: int = 42
    """Random seed (data order, dropout, new weights); augment: of the per-example draws (the same seed gives
    the same file); demo: of the generated data (default 0 there)."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LoopSettings:
    """One run of the loop (a fine-tuning run, one distillation stage, a general distillation):
    the command's training options, and what the command decides for this run."""

    options: TrainingOptions
    learning_rate: float
    epochs: float | None = None
    """Passes over the data; ignored when ``options.max_steps`` is set."""
    keep_best: bool = True
    """Call ``on_best`` when the score improves (False: the last step's model is the result)."""

    def total_steps(self, steps_per_epoch: int | None) -> int:
        if self.options.max_steps is not None:
            return self.options.max_steps
        if self.epochs is None or steps_per_epoch is None:
            raise TinyBertError("a training run needs max_steps or, over a finite data set, epochs")
        return max(1, math.ceil(self.epochs * steps_per_epoch))


__all__ = [
    "FINETUNE_EPOCHS",
    "FINETUNE_LR_BY_WIDTH",
    "FINETUNE_LR_WIDE",
    "GENERAL_LR",
    "PRECISIONS",
    "LoopSettings",
    "TrainingOptions",
    "default_finetune_lr",
]
