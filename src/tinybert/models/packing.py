"""Padding-free encoder forwards for the intermediate distillation stage.

A padded batch (B, L) spends every linear layer, layer norm, GELU and dropout on its padding
too: at 25% padding a quarter of a step's matrix products compute rows nobody reads. Packing
runs the model on the N real tokens of the batch, laid out as one row (1, N), with per-sequence
position ids; only attention, which needs the sequences apart, scatters queries, keys and values
back to (B, H, L, Dh) (see :func:`tinybert.models.attention.scores_attention_forward`) and returns
the pre-softmax scores in the padded (B, H, L, L) layout the attention loss reads.

The outputs at real tokens are those of the padded forward, so the losses and gradients are
unchanged up to float rounding (the products sum in another order; tested per architecture in
``tests/test_packing.py``); the hidden states come back packed, (1, N, D), which the mask-aware losses
take with an all-ones mask. Transformers has a padding-free path only for flash-attention
decoders, not for encoders on CPU, hence our own.

Whether a model packs correctly depends on how its embeddings build positions (BERT: 0..L-1,
RoBERTa: after the padding index) and on whether its layers pass keyword arguments to the
attention function, so :func:`supports_packing` checks it once per model, on a small synthetic
batch, against the padded forward, and the module falls back to padding where it differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from tinybert.models.structure import probe_batch

PACKING_KWARG = "tinybert_packing"
"""Keyword under which the model passes the :class:`Packing` down to the attention function."""

_CHECKED = "_tinybert_packs"
"""Model attribute caching :func:`supports_packing`'s answer."""


@dataclass(frozen=True)
class Packing:
    """Where the N packed tokens sit in the padded (B, L) batch."""

    indices: torch.Tensor
    """(N,): flat positions ``b * L + l`` of the real tokens, in order."""
    batch: int
    length: int
    mask: torch.Tensor
    """(B, L) bool, True at real tokens."""

    def key_mask(self, dtype: torch.dtype) -> torch.Tensor:
        """(B, 1, 1, L) additive mask: 0 at real keys, ``dtype``'s minimum at padded ones."""
        zeros = torch.zeros(self.batch, 1, 1, self.length, dtype=dtype, device=self.mask.device)
        return zeros.masked_fill(~self.mask[:, None, None, :], torch.finfo(dtype).min)

    def pad(self, packed: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B * L, ...), zeros at padded positions."""
        out = packed.new_zeros((self.batch * self.length, *packed.shape[1:]))
        return out.index_put((self.indices,), packed)

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:
        """(B * L, ...) -> (N, ...)."""
        return padded[self.indices]


def position_offset(model: PreTrainedModel) -> int:
    """First position id of a sequence: 0 for BERT-style embeddings, ``padding_idx + 1`` for
    RoBERTa-style ones (which count positions after the padding index)."""
    embeddings = getattr(model.base_model, "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    return 0 if padding_idx is None else int(padding_idx) + 1


def pack_inputs(inputs: dict[str, torch.Tensor], offset: int = 0) -> tuple[dict[str, torch.Tensor], Packing]:
    """Model inputs of shape (B, L) -> the same inputs as one row (1, N) of real tokens + position ids.

    ``attention_mask`` (B, L) must mark real tokens with 1 and be right-padded (each row's real tokens
    first), as the collators make it; it is replaced by the :class:`Packing`, passed to the model as
    ``tinybert_packing=...``.
    """
    mask = inputs["attention_mask"].bool()  # (B, L)
    batch, length = mask.shape
    indices = mask.reshape(-1).nonzero().squeeze(1)  # (N,)
    positions = torch.arange(length, device=mask.device).expand(batch, length).reshape(-1)[indices] + offset
    packed = {name: value.reshape(-1)[indices][None] for name, value in inputs.items() if name != "attention_mask"}
    packed["position_ids"] = positions[None]  # (1, N)
    return packed, Packing(indices=indices, batch=batch, length=length, mask=mask)


def is_right_padded(attention_mask: torch.Tensor) -> bool:
    """True when every row of (B, L) is ones then zeros (what packing assumes)."""
    mask = attention_mask.bool()
    return bool((mask[:, 1:] <= mask[:, :-1]).all())


def packed_forward(model: PreTrainedModel, inputs: dict[str, torch.Tensor], **kwargs: object):
    """``model(**inputs, **kwargs)`` on the packed batch: hidden states (1, N, D), attentions (B, H, L, L)."""
    packed, packing = pack_inputs(inputs, position_offset(model))
    return model(**packed, **{PACKING_KWARG: packing}, **kwargs)


def supports_packing(model: PreTrainedModel, scores: bool = True) -> bool:
    """Whether a packed forward of ``model`` gives the padded forward's hidden states, and with
    ``scores=True`` (the attention loss reads them) its pre-softmax scores too.

    Checked once per attention implementation (the answer is cached on the model) in eval mode on a
    synthetic batch of two sequences, one padded. Where scores are needed, a model that returns none
    (``sdpa``: an empty ``attentions``) does not pack: a comparison over nothing is a failure, not a
    pass. (That the ``attentions`` are pre-softmax scores is :func:`~tinybert.models.attention.use_score_attention`'s
    guarantee, which the attention loss requires first.)
    """
    key = (getattr(model.config, "_attn_implementation", None), scores)
    cache: dict[tuple[str | None, bool], bool] = model.__dict__.setdefault(_CHECKED, {})
    if key not in cache:
        cache[key] = _packs_like_padding(model, scores)
    return cache[key]


def _packs_like_padding(model: PreTrainedModel, scores: bool) -> bool:
    inputs = probe_batch(model)
    mask = inputs["attention_mask"]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            padded = model(**inputs, output_hidden_states=True, output_attentions=scores)
            packed = packed_forward(model, inputs, output_hidden_states=True, output_attentions=scores)
    # A model whose forward rejects position ids or the packing keyword cannot pack: any error here
    # means "use padding", never a failed run.
    except Exception:
        return False
    finally:
        model.train(was_training)
    real = mask.bool()  # (B, L)
    pairs = real[:, None, :, None] & real[:, None, None, :]  # (B, 1, L, L)
    layers = model.config.num_hidden_layers
    if not len(packed.hidden_states or ()) == len(padded.hidden_states or ()) == layers + 1:
        return False
    if scores and not len(packed.attentions or ()) == len(padded.attentions or ()) == layers:
        return False  # no scores returned: nothing to compare is a failure, not a pass
    for a, b in zip(padded.hidden_states, packed.hidden_states, strict=True):
        if b.shape != (1, int(real.sum()), a.shape[-1]) or not torch.allclose(a[real], b[0], atol=1e-5, rtol=1e-4):
            return False
    if scores:
        for a, b in zip(padded.attentions, packed.attentions, strict=True):
            if a.shape != b.shape or not torch.allclose(a * pairs, b * pairs, atol=1e-5, rtol=1e-4):
                return False
    return True
