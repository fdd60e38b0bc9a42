"""SmoothQuant for onnxruntime's dynamic int8: move an activation outlier's range into the weights.

Dynamic int8 gives the input of each weight matrix one scale per call. When a few input channels
are far larger than the rest (all-mpnet-base-v2: one channel of 50-84 into the feed-forward
down-projection of layers 6-10, against a mean magnitude under 1), every other channel rounds to a
few levels. SmoothQuant (Xiao et al. 2023, https://arxiv.org/abs/2211.10438) divides input channel
``c`` by ``s_c`` and multiplies column ``c`` of the weight by ``s_c``: the product is unchanged in
exact arithmetic, and with

    s_c = max|x_c| ** alpha / max|W[:, c]| ** (1 - alpha)

the activation and the weight share the channel's range (alpha 0.5: evenly; ``--smooth-alpha``).
The weights are quantized per output channel, so a scaled-up column costs that row's other columns
some precision; alpha weighs the two.

The paper folds ``1 / s`` into the LayerNorm before the matrix. Here each smoothed ``nn.Linear``
multiplies its own input by ``1 / s`` (a buffer, applied by a forward pre-hook): one element-wise
product per input value, against the matrix product's ``out_features`` multiply-adds, and it works
for every architecture and every matrix, including the feed-forward down-projection, whose input
comes from GELU and has no LayerNorm to fold into. The hook runs inside the ``nn.Linear``'s own
call, so the exported ``Mul`` and ``MatMul`` both carry the module's name (what ``--keep-fp32``
kinds match).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

SCALE_BUFFER = "smooth_inv_scale"
_MIN = 1e-5


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


def smooth_scales(input_range: torch.Tensor, weight: torch.Tensor, alpha: float) -> torch.Tensor:
    """``s_c = max|x_c| ** alpha / max|W[:, c]| ** (1 - alpha)`` for ``input_range`` ``(C,)`` and a
    weight ``(out, C)``. A channel never active in calibration keeps ``s_c = 1`` (a tiny scale would
    blow up a later input); one no weight reads (a zero column) gets ``s_c = max|x_c|``: any scale is
    exact there, and this one brings its range to 1."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha {alpha}: expected a value between 0 and 1")
    weight_range = weight.detach().abs().amax(0).float()  # (out, C) -> (C,)
    x, w = input_range.float(), weight_range
    scales = x.clamp(min=_MIN).pow(alpha) / w.clamp(min=_MIN).pow(1 - alpha)
    scales = torch.where(w > 0, scales, x)
    return torch.where(x > 0, scales.clamp(min=_MIN), torch.ones_like(scales))


def _divide_input(module: torch.nn.Module, args: tuple) -> tuple:
    return (args[0] * getattr(module, SCALE_BUFFER), *args[1:])


@torch.no_grad()
def smooth_linears(model: torch.nn.Module, ranges: dict[str, torch.Tensor], alpha: float) -> list[str]:
    """Smooth each ``nn.Linear`` of ``model`` named in ``ranges`` (:func:`input_ranges`) in place:
    its weight's columns times ``s``, its input times ``1 / s``; the model computes the same function
    (to float rounding). Returns the modules smoothed."""
    modules = dict(model.named_modules())
    done = []
    for name, input_range in ranges.items():
        linear = modules[name]
        if not isinstance(linear, torch.nn.Linear) or hasattr(linear, SCALE_BUFFER):
            raise ValueError(f"{name}: not an unsmoothed nn.Linear")
        scales = smooth_scales(input_range, linear.weight, alpha).to(linear.weight.dtype)
        linear.weight.mul_(scales)  # (out, C) * (C,): column c times s_c
        linear.register_buffer(SCALE_BUFFER, 1.0 / scales)
        linear.register_forward_pre_hook(_divide_input)
        done.append(name)
    return done
