"""Padding-free (packed) intermediate-stage forwards: the same losses and gradients as padding."""

from __future__ import annotations

import pytest
import torch
from transformers import AttentionInterface, AutoModelForSequenceClassification
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from architectures import ARCHITECTURES, OWN_ATTENTION, arch_config
from tinybert.config import LossWeights
from tinybert.distillation.objective import DistillationModule
from tinybert.models.attention import use_score_attention
from tinybert.models.layer_map import uniform_map
from tinybert.models.packing import is_right_padded, pack_inputs, packed_forward, supports_packing

SCORE_ARCHITECTURES = [a for a in ARCHITECTURES if a not in OWN_ATTENTION]


def _batch(type_vocab_size: int = 2) -> dict[str, torch.Tensor]:
    ids = torch.tensor([[2, 5, 6, 7, 21, 3, 9], [2, 9, 30, 3, 0, 0, 0], [2, 11, 12, 13, 14, 3, 0]])
    batch = {"input_ids": ids, "attention_mask": (ids != 0).long()}
    if type_vocab_size:
        types = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 0]])
        batch["token_type_ids"] = types % type_vocab_size
    return batch


def _model(arch: str, layers: int, hidden: int, seed: int):
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(arch_config(arch, layers, hidden))
    use_score_attention(model)
    return model


def test_pack_inputs_layout() -> None:
    batch = _batch()
    packed, packing = pack_inputs(batch, offset=2)
    assert packed["input_ids"].tolist() == [[2, 5, 6, 7, 21, 3, 9, 2, 9, 30, 3, 2, 11, 12, 13, 14, 3]]
    assert packed["position_ids"].tolist() == [[2, 3, 4, 5, 6, 7, 8, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7]]
    assert packed["token_type_ids"][0, 7:11].tolist() == [0, 0, 1, 1]
    assert "attention_mask" not in packed
    padded = packing.pad(packed["input_ids"][0])  # (B * L,)
    assert padded.view(3, 7).tolist() == batch["input_ids"].tolist()
    assert is_right_padded(batch["attention_mask"])
    assert not is_right_padded(torch.tensor([[0, 1, 1], [1, 1, 1]]))


@pytest.mark.parametrize("arch", SCORE_ARCHITECTURES)
def test_packed_step_equals_padded_step(arch: str) -> None:
    """Loss parts and every gradient of a packed intermediate step equal those of the padded step."""
    teacher = _model(arch, layers=4, hidden=32, seed=0).eval()
    assert supports_packing(teacher), f"{arch} should pack"
    grads, parts = [], []
    for packs in (False, True):
        student = _model(arch, layers=2, hidden=16, seed=1)
        module = DistillationModule(student, teacher, uniform_map(2, 4), LossWeights(), "intermediate")
        assert module.packs
        module.packs = packs
        module.eval()  # no dropout: the two paths draw different random numbers
        batch = _batch(getattr(teacher.config, "type_vocab_size", 0))
        out = module(batch)
        out.loss.backward()
        parts.append({k: v.item() for k, v in out.parts.items()})
        grads.append({n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None})
    assert parts[0].keys() == {"embedding", "hidden", "attention"}
    for name in parts[0]:
        assert parts[1][name] == pytest.approx(parts[0][name], rel=1e-6, abs=1e-8), name
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def _leaky_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention over every key it is given, ignoring the mask and the packing: packed sequences mix."""
    scores = torch.matmul(query, key.transpose(2, 3)) * (scaling or query.size(-1) ** -0.5)  # (B, H, Lq, Lk)
    output = torch.matmul(scores.softmax(-1), value).transpose(1, 2).contiguous()  # (B, Lq, H, Dh)
    return output, scores


def _no_weights_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """The model's own sdpa, returning no attention weights (what ``sdpa`` does for ``output_attentions``)."""
    output, _ = sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout)
    return output, None


AttentionInterface.register("test_leaky", _leaky_attention)
AttentionInterface.register("test_no_weights", _no_weights_attention)
AttentionMaskInterface.register("test_no_weights", sdpa_mask)


def _bert(attention: str):
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(arch_config("bert", 2, 16))
    model.set_attn_implementation(attention)
    return model.eval()


@pytest.mark.parametrize("attention", ["sdpa", "test_no_weights"])
def test_a_model_that_returns_no_scores_does_not_pack_for_the_attention_loss(attention: str) -> None:
    """Where the loss needs the scores, an empty ``attentions`` compares nothing: that is a refusal."""
    model = _bert(attention)
    assert not supports_packing(model, scores=True)


def test_a_model_whose_packed_forward_differs_does_not_pack() -> None:
    """Attention that ignores the mask lets packed sequences see each other: packing is refused."""
    model = _bert("test_leaky")
    out = model(**_batch(), output_attentions=True)
    assert len(out.attentions) == 2  # it does return scores; they and the hidden states differ when packed
    assert not supports_packing(model, scores=True)
    assert not supports_packing(model, scores=False)


def test_packing_without_scores_follows_the_packed_forward() -> None:
    """Without the attention loss, a model packs exactly when its packed hidden states equal the padded
    ones: the answer is measured, whatever this transformers release does with packed position ids."""
    model = _bert("sdpa")
    batch = _batch()
    with torch.no_grad():
        padded = model(**batch, output_hidden_states=True).hidden_states
        packed = packed_forward(model, batch, output_hidden_states=True).hidden_states
    real = batch["attention_mask"].bool()
    same = all(torch.allclose(a[real], b[0], atol=1e-5, rtol=1e-4) for a, b in zip(padded, packed, strict=True))
    assert supports_packing(model, scores=False) == same


def test_the_packing_check_follows_the_attention_implementation() -> None:
    """A model checked on sdpa, then switched to score attention, is checked again (not a stale answer)."""
    model = _bert("sdpa")
    assert not supports_packing(model, scores=True)
    use_score_attention(model)
    assert supports_packing(model, scores=True)
