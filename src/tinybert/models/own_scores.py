"""Pre-softmax attention scores of encoders that compute attention in their own code.

MPNet and DeBERTa-v2/v3 ignore transformers' attention interface, so the score-returning function
of :mod:`tinybert.models.attention` never runs for them, and their ``attentions`` are softmax
probabilities. Rather than copy their modeling code, we hook each self-attention module:

- forward hooks on its query and key projections keep their (first) outputs for the duration of the
  call;
- DeBERTa's ``disentangled_attention_bias`` (the c2p + p2c term, already divided by its scale) is
  wrapped to keep what it returns;
- a forward hook on the self-attention module replaces the probabilities it returns with the scores
  recomputed from those pieces exactly as the module computes them before masking:

  MPNet (``MPNetSelfAttention.forward``):        Q K^T / sqrt(d) + position_bias
  DeBERTa (``DisentangledSelfAttention.forward``): Q (K^T / sqrt(d * f)) + c2p + p2c, f = 1 + the number
                                                   of relative terms (``pos_att_type``)

The model's hidden states and logits are untouched (only the returned ``attentions`` change).
Installing the capture checks it on a small batch: the softmax of the captured scores under the
padding mask must reproduce the model's own probabilities, so a transformers release that changes
these functions stops the run with an error instead of feeding the attention loss wrong scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from tinybert.errors import TinyBertError
from tinybert.models.structure import probe_batch

_HANDLES = "_tinybert_score_hooks"
"""Model attribute holding the installed hooks (removed by :func:`remove_own_scores`)."""


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, H * Dh) -> (B, H, L, Dh)."""
    batch, length, _ = x.shape
    return x.view(batch, length, heads, -1).transpose(1, 2)


def _keep_output(store: dict[str, torch.Tensor], key: str) -> Callable:
    """Keep the projection's first output of the call: DeBERTa-v3 (``share_att_key``) projects its
    relative embeddings through the same query and key maps afterwards."""

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        store.setdefault(key, output)

    return hook


def _mpnet_scores(module: nn.Module, store: dict[str, Any], args: tuple, kwargs: dict) -> torch.Tensor:
    """(B, H, L, L): Q K^T / sqrt(d) + position_bias, as ``MPNetSelfAttention.forward`` adds them."""
    heads = module.num_attention_heads
    q, k = _heads(store["q"], heads), _heads(store["k"], heads)  # (B, H, L, Dh)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(module.attention_head_size)
    bias = kwargs.get("position_bias", args[2] if len(args) > 2 else None)
    return scores if bias is None else scores + bias


def _deberta_scores(module: nn.Module, store: dict[str, Any], args: tuple, kwargs: dict) -> torch.Tensor:
    """(B, H, L, L): Q (K^T / scale) + relative term, as ``DisentangledSelfAttention.forward`` adds them."""
    heads = module.num_attention_heads
    q, k = _heads(store["q"], heads), _heads(store["k"], heads)  # (B, H, L, Dh)
    batch, _, length, dim = q.shape
    factor = 1 + sum(term in module.pos_att_type for term in ("c2p", "p2c"))
    scale = math.sqrt(dim * factor)
    q, k = q.reshape(batch * heads, length, dim), k.reshape(batch * heads, -1, dim)  # (B * H, L, Dh)
    scores = torch.bmm(q, k.transpose(-1, -2) / torch.tensor(scale, dtype=q.dtype))  # (B * H, L, L)
    relative = store.pop("relative", None)
    if relative is not None:
        scores = scores + relative
    return scores.view(batch, heads, length, -1)


# model_type -> (self-attention class name, query and key projection names, score function)
_ARCHITECTURES: dict[str, tuple[str, str, str, Callable]] = {
    "mpnet": ("MPNetSelfAttention", "q", "k", _mpnet_scores),
    "deberta-v2": ("DisentangledSelfAttention", "query_proj", "key_proj", _deberta_scores),
}


def supports_own_scores(model: PreTrainedModel) -> bool:
    """True when ``model`` is an architecture whose scores :func:`use_own_scores` can capture."""
    return getattr(model.config, "model_type", None) in _ARCHITECTURES


def uses_own_scores(model: PreTrainedModel) -> bool:
    """True when the capture is installed: ``attentions`` hold pre-softmax scores."""
    return bool(getattr(model, _HANDLES, None))


def use_own_scores(model: PreTrainedModel, name: str = "model") -> None:
    """Make ``model(..., output_attentions=True).attentions[l - 1]`` the pre-softmax scores (B, H, L, L)
    of layer ``l``; refuses (one-line error) when they do not reproduce the model's own probabilities."""
    if uses_own_scores(model):
        return
    batch = probe_batch(model)
    probs = _attentions(model, batch)
    _install(model, name)
    scores = _attentions(model, batch)
    if not _reproduces(scores, probs, batch["attention_mask"], model.config.num_hidden_layers):
        remove_own_scores(model)
        raise TinyBertError(
            f"{name} ({type(model).__name__}): the captured attention scores do not reproduce the model's own "
            "attention in this transformers release; distil with --loss-weights attention=0"
        )


def _install(model: PreTrainedModel, name: str) -> None:
    class_name, q_name, k_name, scores_fn = _ARCHITECTURES[model.config.model_type]
    modules = [m for m in model.modules() if type(m).__name__ == class_name]
    if len(modules) != model.config.num_hidden_layers:
        raise TinyBertError(
            f"{name} ({type(model).__name__}): expected {model.config.num_hidden_layers} {class_name} modules, "
            f"found {len(modules)}; this transformers release is not supported for the attention loss "
            "(distil with --loss-weights attention=0)"
        )
    handles: list[Any] = []
    for module in modules:
        store: dict[str, Any] = {}
        handles.append(getattr(module, q_name).register_forward_hook(_keep_output(store, "q")))
        handles.append(getattr(module, k_name).register_forward_hook(_keep_output(store, "k")))
        if hasattr(module, "disentangled_attention_bias"):
            handles.append(_wrap_relative(module, store))

        def replace(mod: nn.Module, args: tuple, kwargs: dict, output: tuple, store=store, fn=scores_fn) -> tuple:
            try:
                if len(output) < 2 or output[1] is None:
                    return output
                return (output[0], fn(mod, store, args, kwargs), *output[2:])
            finally:
                store.clear()

        handles.append(module.register_forward_hook(replace, with_kwargs=True))
    setattr(model, _HANDLES, handles)


def remove_own_scores(model: PreTrainedModel) -> None:
    """Undo :func:`use_own_scores`: ``attentions`` are the model's own probabilities again."""
    for handle in getattr(model, _HANDLES, None) or ():
        handle.remove()
    if hasattr(model, _HANDLES):
        delattr(model, _HANDLES)


class _Restore:
    """Undoes an instance-level method wrap, with the interface of a hook handle."""

    def __init__(self, module: nn.Module, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def remove(self) -> None:
        self.module.__dict__.pop(self.attribute, None)


def _wrap_relative(module: nn.Module, store: dict[str, Any]) -> _Restore:
    """Keep DeBERTa's relative term (c2p + p2c, (B * H, L, L)) as the module computes it."""
    original = module.disentangled_attention_bias

    def wrapped(*args: Any, **kwargs: Any) -> torch.Tensor:
        store["relative"] = original(*args, **kwargs)
        return store["relative"]

    module.disentangled_attention_bias = wrapped
    return _Restore(module, "disentangled_attention_bias")


def _attentions(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(**batch, output_attentions=True).attentions or ()
    finally:
        model.train(was_training)


def _reproduces(scores: tuple, probs: tuple, mask: torch.Tensor, layers: int) -> bool:
    """Softmax of each layer's scores over the real keys == its probabilities, at the real query rows."""
    if not len(scores) == len(probs) == layers:
        return False
    keys = mask[:, None, None, :].bool()  # (B, 1, 1, L)
    rows = mask.bool()[:, None, :, None]  # (B, 1, L, 1)
    for s, p in zip(scores, probs, strict=True):
        if s.shape != p.shape:
            return False
        mine = torch.softmax(s.masked_fill(~keys, torch.finfo(s.dtype).min), dim=-1)
        if not torch.allclose(mine * rows, p * rows, atol=1e-5, rtol=1e-4):
            return False
    return True
