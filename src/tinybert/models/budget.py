"""Target shapes from a parameter budget: ``tinybert prune --sparsity S`` or ``--target-params N``.

The search keeps the model's layer count (or the requested one) and its number of heads, and
shrinks every width together, as one knob: head size k (hidden = heads * k) and the FFN width in
proportion (intermediate = round(I * k / head_size)). The parameters of a candidate are counted
exactly, by building the model on the meta device (no memory, no weights), so every architecture
the cut supports is counted right, embeddings, position tables, pooler and head included. Counts
grow with k, so a bisection over k finds the widest shape within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import PretrainedConfig, PreTrainedModel

from tinybert.config import StudentShape
from tinybert.errors import TinyBertError
from tinybert.models.structure import encoder_shape, student_config

__all__ = ["Budget", "budget_shape", "encoder_parameters", "shape_parameters"]


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
    vocab_size: int | None = None,
    option: str = "--sparsity",
) -> Budget:
    """The widest shape with ``len(layers)`` layers (teacher layers ``layers``, 1-based) within the
    budget: at least ``sparsity`` of ``model``'s encoder parameters removed, or at most
    ``target_params`` parameters in all. ``vocab_size``: the vocabulary the result will have."""
    if (sparsity is None) == (target_params is None):
        raise TinyBertError(f"{option}: give exactly one of --sparsity and --target-params")
    base = encoder_shape(model.config, "--model")
    head_size = base.hidden // base.heads
    original = encoder_parameters(model)

    def candidate(k: int) -> tuple[StudentShape, int, int]:
        intermediate = max(1, round(base.intermediate * k / head_size))
        shape = StudentShape(len(layers), base.heads * k, base.heads, intermediate)
        return (shape, *shape_parameters(model.config, shape, layers, head_class, vocab_size))

    def fits(total: int, encoder: int) -> bool:
        if sparsity is not None:
            return encoder <= (1 - sparsity) * original
        return total <= target_params  # type: ignore[operator]

    smallest = candidate(1)
    if not fits(*smallest[1:]):
        want = f"sparsity {sparsity:g}" if sparsity is not None else f"{target_params:,} parameters"
        raise TinyBertError(
            f"{option}: {want} is out of reach with {len(layers)} layers; the narrowest shape (hidden "
            f"{smallest[0].hidden}, FFN {smallest[0].intermediate}) has {smallest[1]:,} parameters "
            f"({smallest[2]:,} in the layers); keep fewer --layers, or --prune-vocab"
        )
    low, high = 1, head_size  # fits(low) holds; find the largest k that fits
    best = smallest
    while low < high:
        mid = (low + high + 1) // 2
        found = candidate(mid)
        if fits(*found[1:]):
            low, best = mid, found
        else:
            high = mid - 1
    return Budget(best[0], best[1], best[2], original)
