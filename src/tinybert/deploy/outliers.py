"""Activation outliers in onnxruntime's dynamic int8: compute the outlier channels apart, in fp32.

Dynamic int8 gives the input of each weight matrix one scale per call. When a few input channels
are far larger than the rest (all-mpnet-base-v2: one channel of 50-99 into the feed-forward
down-projection of layers 6-10, against a median channel range near 1), every other channel rounds
to a few levels: its one-word embeddings keep a cosine of 0.77 with the fp32 ones.

:func:`split_outliers` takes those channels out of the matrix product, as LLM.int8() does (Dettmers
et al. 2022, https://arxiv.org/abs/2208.07339): the product, which int8 quantizes, sees them as
zeros, and their columns of the weight are applied apart in fp32, an element-wise product and a
sum over the few outlier channels. The function is unchanged; a matrix with ``k`` outlier channels
of ``C`` costs ``k / C`` of its multiply-adds in fp32 more.

Which channels: those whose largest |value| on calibration text is more than ``factor`` times the
median channel's. The channels are a property of the model (the same few in every text), so the
parity text calibrates them. Tried and measured worse on all-mpnet-base-v2 (BENCHMARKS.md, "int8
outliers"): SmoothQuant (divide each input channel by a scale, multiply the weight's column by it),
which passed the parity bar but lost 3.5-5 points of retrieval MRR@10, where splitting lost 0.1.

The change is made on the PyTorch model before the ONNX export: each changed ``nn.Linear`` keeps
its name (its ``forward`` is replaced on the instance), so the exported matrix product still carries
the module's name, which ``--keep-fp32`` kinds match.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

OUTLIER_BUFFERS = ("outlier_index", "outlier_weight", "inlier_mask")


@torch.no_grad()
def input_ranges(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The largest |input| per input channel of each ``nn.Linear`` of ``model`` over ``batches`` of
    model inputs: module name -> ``(in_features,)``. Padded positions count: int8 quantizes their
    activations in the same tensor, so they share its range."""
    ranges: dict[str, torch.Tensor] = {}
    hooks = []

    def record(name: str):
        def hook(module: torch.nn.Module, args: tuple) -> None:
            x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(0)  # (..., C) -> (C,)
            ranges[name] = x if name not in ranges else torch.maximum(ranges[name], x)

        return hook

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            hooks.append(module.register_forward_pre_hook(record(name)))
    try:
        model.eval()
        for batch in batches:
            model(**batch)
    finally:
        for hook in hooks:
            hook.remove()
    return ranges


def outlier_channels(input_range: torch.Tensor, factor: float) -> torch.Tensor:
    """The channels of ``input_range`` ``(C,)`` more than ``factor`` times the median channel's
    range: ``(k,)`` indices, largest first."""
    values = input_range.float()
    order = values.argsort(descending=True)
    return order[values[order] > factor * values.median()]


def _split_forward(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``x @ W.T + b`` as a product of the inlier channels (what int8 quantizes) plus the outlier
    channels' part in fp32. ``x``: ``(..., C)``; returns ``(..., out)``."""
    outliers = x[..., self.outlier_index]  # (..., C) -> (..., k)
    inliers = torch.nn.functional.linear(x * self.inlier_mask, self.weight, self.bias)  # (..., out)
    # (..., k, 1) * (k, out) -> (..., k, out) -> (..., out): element-wise, not a matrix product, so
    # int8 quantization (which quantizes products by a weight matrix) leaves it in fp32
    return inliers + (outliers.unsqueeze(-1) * self.outlier_weight).sum(-2)


@torch.no_grad()
def split_outliers(model: torch.nn.Module, ranges: dict[str, torch.Tensor], factor: float) -> dict[str, int]:
    """Take the outlier input channels (:func:`outlier_channels`) of each ``nn.Linear`` of ``model``
    named in ``ranges`` (:func:`input_ranges`) out of its matrix product, in place: the product sees
    them as zeros and their weight columns are zero (so int8 gives the other channels and weights
    their own range), and their part is added apart, in fp32. The model computes the same function.
    Returns the modules changed -> how many channels each had split out."""
    modules = dict(model.named_modules())
    done = {}
    for name, input_range in ranges.items():
        linear = modules[name]
        if not isinstance(linear, torch.nn.Linear) or any(hasattr(linear, b) for b in OUTLIER_BUFFERS):
            raise ValueError(f"{name}: not an nn.Linear as loaded")
        index = outlier_channels(input_range, factor)
        if len(index) == 0:
            continue
        mask = torch.ones(linear.in_features, dtype=linear.weight.dtype)
        mask[index] = 0.0
        linear.register_buffer("outlier_index", index)
        linear.register_buffer("outlier_weight", linear.weight[:, index].T.clone())  # (out, k) -> (k, out)
        linear.register_buffer("inlier_mask", mask)
        linear.weight[:, index] = 0.0
        linear.forward = _split_forward.__get__(linear)
        done[name] = len(index)
    return done
