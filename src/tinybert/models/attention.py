"""Capture pre-softmax attention scores from Hugging Face encoders.

TinyBERT's attention loss compares the scores ``Q K^T / sqrt(d_k)`` *before* the softmax and
before the additive padding mask. Transformers returns post-softmax probabilities as
``attentions`` (and nothing at all under ``sdpa``), so we register an attention function of our
own, ``"tinybert_scores"``, whose second return value (what the model records as ``attentions``)
is the raw scores. The padding mask is still applied to the softmax, so the model's outputs are
exactly those of eager attention.

The mask function must be registered under the same name: transformers builds the padding mask
per attention implementation, and without a registration the mask is silently skipped.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AttentionInterface, PreTrainedModel
from transformers.masking_utils import AttentionMaskInterface, eager_mask

from tinybert.errors import TinyBertError
from tinybert.models.own_scores import remove_own_scores, supports_own_scores, use_own_scores, uses_own_scores
from tinybert.models.packing import PACKING_KWARG, Packing

SCORES_ATTENTION = "tinybert_scores"


def scores_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: object,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eager attention that returns the pre-softmax, pre-mask scores as its weights.

    Shapes: query (B, H, Lq, Dh), key and value (B, H, Lk, Dh), attention_mask additive
    (B, 1, Lq, Lk) or None. Returns output (B, Lq, H, Dh) and scores (B, H, Lq, Lk).

    Packed batches (:mod:`tinybert.models.packing`, keyword ``tinybert_packing``): query, key and
    value are (1, H, N, Dh) over the N real tokens; they are scattered to (B, H, L, Dh), attended
    with the packing's key mask, and the output gathered back to (1, N, H, Dh). The scores stay
    (B, H, L, L), zero at padded queries and keys.
    """
    packing: Packing | None = kwargs.get(PACKING_KWARG)
    if packing is not None:
        return _packed_attention(module, query, key, value, packing, scaling, dropout)
    if key.shape[1] != query.shape[1]:
        raise TinyBertError(
            f"{type(module).__name__}: grouped key/value heads ({key.shape[1]} for {query.shape[1]} "
            "query heads) are not supported by the attention loss"
        )
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, H, Lq, Lk)
    masked = scores if attention_mask is None else scores + attention_mask
    probs = nn.functional.softmax(masked, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    output = torch.matmul(probs, value).transpose(1, 2).contiguous()  # (B, Lq, H, Dh)
    return output, scores


def _packed_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    packing: Packing,
    scaling: float | None,
    dropout: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    heads = query.shape[1]

    def pad(x: torch.Tensor) -> torch.Tensor:  # (1, H, N, Dh) -> (B, H, L, Dh)
        return packing.pad(x[0].transpose(0, 1)).view(packing.batch, packing.length, heads, -1).transpose(1, 2)

    output, scores = scores_attention_forward(
        module, pad(query), pad(key), pad(value), packing.key_mask(query.dtype), scaling, dropout
    )
    output = packing.unpad(output.reshape(packing.batch * packing.length, heads, -1))  # (N, H, Dv)
    return output[None], scores


AttentionInterface.register(SCORES_ATTENTION, scores_attention_forward)
AttentionMaskInterface.register(SCORES_ATTENTION, eager_mask)


def supports_score_attention(model: PreTrainedModel) -> bool:
    """True when the pre-softmax scores of ``model`` can be read: its Hugging Face class computes
    attention through the attention interface, or it is one whose own attention code
    :mod:`tinybert.models.own_scores` captures (MPNet, DeBERTa-v2/v3).

    Other classes that compute attention in their own code ignore a registered attention function:
    ``set_attn_implementation`` only logs a warning and ``output_attentions`` then returns softmax
    probabilities, not scores.
    """
    return _takes_attention_function(model) or supports_own_scores(model)


def _takes_attention_function(model: PreTrainedModel) -> bool:
    return bool(getattr(model, "_supports_attention_backend", False))


def use_score_attention(model: PreTrainedModel, name: str = "model") -> None:
    """Switch ``model`` to score-returning attention, or fail with a one-line error.

    After this, ``model(..., output_attentions=True).attentions[l - 1]`` holds the pre-softmax
    scores of layer ``l``, shape (B, H, L, L). Never falls back to probabilities: a model whose
    class does not take the attention function is refused, naming ``--loss-weights attention=0``.
    """
    if not _takes_attention_function(model):
        if supports_own_scores(model):
            use_own_scores(model, name)
            return
        raise TinyBertError(
            f"{name} ({type(model).__name__}) computes attention in its own code, so its pre-softmax "
            "scores cannot be read for the attention loss; distil with --loss-weights attention=0"
        )
    try:
        model.set_attn_implementation(SCORES_ATTENTION)
    except (ValueError, NotImplementedError, AttributeError) as err:
        raise TinyBertError(
            f"{name} ({type(model).__name__}) does not accept a custom attention function, so its "
            "attention scores cannot be read for the attention loss; distil with --loss-weights attention=0"
        ) from err
    if model.config._attn_implementation != SCORES_ATTENTION:
        raise TinyBertError(
            f"{name} ({type(model).__name__}) kept attention {model.config._attn_implementation!r}, so its "
            "scores cannot be read for the attention loss; distil with --loss-weights attention=0"
        )


def uses_score_attention(model: PreTrainedModel) -> bool:
    """True when ``model`` currently records pre-softmax scores as its ``attentions``."""
    return getattr(model.config, "_attn_implementation", None) == SCORES_ATTENTION or uses_own_scores(model)


def use_training_attention(model: PreTrainedModel, name: str = "model", scores: bool = False) -> None:
    """Attention for training: pre-softmax scores with ``scores=True`` (raises where they cannot be
    read, see :func:`use_score_attention`); otherwise scores where the class takes the attention
    function (the same outputs as eager attention), else the class's own eager attention."""
    if scores or _takes_attention_function(model):
        use_score_attention(model, name)
    elif model.config._attn_implementation != "eager":
        model.set_attn_implementation("eager")


def use_default_attention(model: PreTrainedModel) -> None:
    """Switch back to the library's default attention (``sdpa`` where supported) for saving/inference."""
    remove_own_scores(model)
    impl = "sdpa" if getattr(model, "_supports_sdpa", False) else "eager"
    if model.config._attn_implementation != impl:
        model.set_attn_implementation(impl)
