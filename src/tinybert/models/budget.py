"""Target shapes from a budget: ``tinybert prune --sparsity S``, ``--target-params N`` or ``--target-latency MS``.

The search keeps the model's layer count (or the requested one) and its number of heads, and
shrinks every width together, as one knob: head size k (hidden = heads * k) and the FFN width in
proportion (intermediate = round(I * k / head_size)). The parameters of a candidate are counted
exactly, by building the model on the meta device (no memory, no weights), so every architecture
the cut supports is counted right, embeddings, position tables, pooler and head included. Counts
grow with k, so a bisection over k finds the widest shape within the budget.

A latency budget is measured, not modelled: each candidate shape is built with random weights (its
speed does not depend on their values) and timed on this machine, batch 1, at the given sequence
length, with PyTorch's current threads; its median over the timed calls is compared with the
target. Latency grows with k too, but a measurement on a loaded machine is noisy, so the shape found
is the widest within the target up to that noise (``pruning.json`` records the figures).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PretrainedConfig, PreTrainedModel

from tinybert.config import StudentShape
from tinybert.errors import TinyBertError
from tinybert.models.structure import encoder_shape, student_config
from tinybert.timing import time_calls

__all__ = ["Budget", "budget_shape", "encoder_parameters", "shape_latency_ms", "shape_parameters"]


def encoder_parameters(model: PreTrainedModel) -> int:
    """Parameters of the Transformer body: the base model less its embeddings (CoFi's and Minitron's
    sparsity counts these; the vocabulary table is pruned separately, by ``--prune-vocab``)."""
    base = model.base_model
    embeddings = getattr(base, "embeddings", None) or base.get_input_embeddings()
    return sum(p.numel() for p in base.parameters()) - sum(p.numel() for p in embeddings.parameters())


def shape_parameters(
    config: PretrainedConfig,
    shape: StudentShape,
    layers: tuple[int, ...],
    head_class: Any,
    vocab_size: int | None = None,
) -> tuple[int, int]:
    """(all, encoder) parameters of ``head_class`` built in ``shape`` from ``config``'s architecture,
    with teacher layers ``layers`` (for per-layer config fields) and, when given, ``vocab_size`` words."""
    student = student_config(config, shape, layers)
    if vocab_size is not None:
        student.vocab_size = vocab_size
    with torch.device("meta"):
        model = head_class.from_config(student)
    return sum(p.numel() for p in model.parameters()), encoder_parameters(model)


def shape_latency_ms(
    config: PretrainedConfig,
    shape: StudentShape,
    layers: tuple[int, ...],
    head_class: Any,
    seq_len: int,
    vocab_size: int | None = None,
) -> float:
    """Median batch-1 forward latency (ms) of ``head_class`` built in ``shape`` (random weights) on
    ``seq_len`` random in-vocabulary tokens, on the CPU with PyTorch's current threads."""
    student = student_config(config, shape, layers)
    if vocab_size is not None:
        student.vocab_size = vocab_size
    model = head_class.from_config(student).eval()
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(min(1000, student.vocab_size // 2), student.vocab_size, (1, seq_len), generator=generator)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}  # (1, seq_len) each
    with torch.inference_mode():
        times = time_calls(lambda: model(**inputs), warmup=3, min_repeats=10, min_seconds=0.5, max_repeats=1000)
    return 1000 * statistics.median(times)


@dataclass(frozen=True)
class Budget:
    """What a budget resolved to."""

    shape: StudentShape
    parameters: int
    """All parameters of the resulting model (with the pruned vocabulary, when it is pruned)."""
    encoder_parameters: int
    """Its Transformer body's parameters (embeddings and head left out)."""
    original_encoder_parameters: int
    """The pruned model's Transformer body before pruning."""
    latency_ms: float | None = None
    """``--target-latency``: the measured batch-1 latency of the shape chosen."""
    original_latency_ms: float | None = None
    """``--target-latency``: the same measurement for the model's own shape (all its layers)."""

    @property
    def sparsity(self) -> float:
        """Fraction of the Transformer body's parameters removed."""
        return 1 - self.encoder_parameters / self.original_encoder_parameters


def budget_shape(
    model: PreTrainedModel,
    layers: tuple[int, ...],
    head_class: Any,
    *,
    sparsity: float | None = None,
    target_params: int | None = None,
    target_latency_ms: float | None = None,
    seq_len: int = 128,
    vocab_size: int | None = None,
    option: str = "--sparsity",
) -> Budget:
    """The widest shape with ``len(layers)`` layers (teacher layers ``layers``, 1-based) within the
    budget: at least ``sparsity`` of ``model``'s encoder parameters removed, at most
    ``target_params`` parameters in all, or at most ``target_latency_ms`` batch-1 latency at
    ``seq_len`` tokens (measured). ``vocab_size``: the vocabulary the result will have."""
    if sum(v is not None for v in (sparsity, target_params, target_latency_ms)) != 1:
        raise TinyBertError(f"{option}: give exactly one of --sparsity, --target-params and --target-latency")
    base = encoder_shape(model.config, "--model")
    head_size = base.hidden // base.heads
    original = encoder_parameters(model)
    latencies: dict[int, float] = {}

    def candidate(k: int) -> tuple[StudentShape, int, int]:
        intermediate = max(1, round(base.intermediate * k / head_size))
        shape = StudentShape(len(layers), base.heads * k, base.heads, intermediate)
        return (shape, *shape_parameters(model.config, shape, layers, head_class, vocab_size))

    def fits(found: tuple[StudentShape, int, int]) -> bool:
        shape, total, encoder = found
        if sparsity is not None:
            return encoder <= (1 - sparsity) * original
        if target_params is not None:
            return total <= target_params
        k = shape.hidden // shape.heads
        latencies[k] = shape_latency_ms(model.config, shape, layers, head_class, seq_len, vocab_size)
        return latencies[k] <= target_latency_ms  # type: ignore[operator]

    def want() -> str:
        if sparsity is not None:
            return f"sparsity {sparsity:g}"
        if target_params is not None:
            return f"{target_params:,} parameters"
        return f"{target_latency_ms:g} ms at batch 1 and {seq_len} tokens"

    smallest = candidate(1)
    if not fits(smallest):
        measured = f", {latencies[1]:.2f} ms" if 1 in latencies else ""
        raise TinyBertError(
            f"{option}: {want()} is out of reach with {len(layers)} layers; the narrowest shape (hidden "
            f"{smallest[0].hidden}, FFN {smallest[0].intermediate}) has {smallest[1]:,} parameters "
            f"({smallest[2]:,} in the layers{measured}); keep fewer --layers"
            + (", or --prune-vocab" if target_latency_ms is None else "")
        )
    low, high = 1, head_size  # fits(low) holds; find the largest k that fits
    best = smallest
    while low < high:
        mid = (low + high + 1) // 2
        found = candidate(mid)
        if fits(found):
            low, best = mid, found
        else:
            high = mid - 1
    if target_latency_ms is None:
        return Budget(best[0], best[1], best[2], original)
    all_layers = tuple(range(1, model.config.num_hidden_layers + 1))
    base_latency = shape_latency_ms(model.config, base, all_layers, head_class, seq_len, vocab_size)
    return Budget(best[0], best[1], best[2], original, latencies[low], base_latency)
