"""Per-architecture checks of what the matrix relies on: pre-softmax scores (or a refusal) and
teacher init by structure."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from architectures import ARCHITECTURES, make_arch_model
from tinybert.config import StudentSpec
from tinybert.errors import TinyBertError
from tinybert.models.attention import use_score_attention, uses_score_attention
from tinybert.models.structure import encoder_layers
from tinybert.models.students import make_student


@pytest.fixture(scope="module")
def arch_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("archs")
    return {arch: make_arch_model(root / arch, arch) for arch in ARCHITECTURES}


def _batch() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[2, 5, 6, 20, 7, 3, 0, 0], [2, 8, 9, 10, 11, 12, 13, 3]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_attention_loss_reads_scores_or_is_refused(arch: str, arch_folders: dict[str, Path]) -> None:
    """The captured tensors are scores (rows do not sum to 1), their masked softmax is the model's own
    attention, and the logits are those of the model without capture. MPNet and DeBERTa-v2, which
    compute attention in their own code, are captured by hooks (models/own_scores.py)."""
    model = AutoModelForSequenceClassification.from_pretrained(arch_folders[arch]).eval()
    reference = AutoModelForSequenceClassification.from_pretrained(arch_folders[arch], attn_implementation="eager")
    batch = _batch()
    with torch.no_grad():
        probs = reference.eval()(**batch, output_attentions=True).attentions
        use_score_attention(model, "--teacher")
        out = model(**batch, output_attentions=True)
    assert len(out.attentions) == len(probs) == model.config.num_hidden_layers
    keys = batch["attention_mask"][:, None, None, :].bool()  # (B, 1, 1, L)
    real_rows = batch["attention_mask"].bool()  # (B, L) query rows that are tokens
    for scores, p in zip(out.attentions, probs, strict=True):
        assert scores.shape == p.shape
        row_sums = scores.masked_fill(~keys, 0).sum(-1)[real_rows.unsqueeze(1).expand(-1, scores.shape[1], -1)]
        assert not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-3)  # scores, not probabilities
        mine = torch.softmax(scores.masked_fill(~keys, torch.finfo(scores.dtype).min), dim=-1)
        # at real query rows (the loss reads no others; DeBERTa spreads a padded query over every key)
        rows = real_rows[:, None, :, None]  # (B, 1, L, 1)
        torch.testing.assert_close(mine * rows, p * rows, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.logits, reference(**batch).logits, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_teacher_init_copies_the_mapped_teacher_layers(arch: str, arch_folders: dict[str, Path]) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(arch_folders[arch])
    spec = StudentSpec(layers=2, init="teacher")
    student, layer_map, info = make_student(spec, teacher, ("negative", "positive"))
    assert type(student) is type(teacher)
    assert layer_map.teacher_layers == (2, 4)
    student.config.validate()  # per-layer fields (ModernBERT's layer_types) follow the depth
    s_layers, t_layers = encoder_layers(student), encoder_layers(teacher)
    if s_layers is None:  # ALBERT: one shared layer group, copied as is
        assert arch == "albert" and t_layers is None
        for (name, s_p), (_, t_p) in zip(
            student.albert.encoder.named_parameters(), teacher.albert.encoder.named_parameters(), strict=True
        ):
            assert torch.equal(s_p, t_p), name
        return
    assert len(s_layers[1]) == 2
    for m, t in enumerate(layer_map.teacher_layers):
        s_state, t_state = s_layers[1][m].state_dict(), t_layers[1][t - 1].state_dict()
        # ModernBERT's first layer has no attention norm (its embeddings are normed): a subset.
        assert s_state.keys() <= t_state.keys() and len(s_state) >= len(t_state) - 1
        for name in s_state:
            assert torch.equal(s_state[name], t_state[name]), (m, name)
    assert info["random_tensors"] == 0


def _mpnet_scale_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers.models.mpnet import modeling_mpnet

    changed = SimpleNamespace(**{**vars(math), "sqrt": lambda x: x})  # scores / d, not / sqrt(d)
    monkeypatch.setattr(modeling_mpnet, "math", changed)


def _deberta_scale_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers.models.deberta_v2 import modeling_deberta_v2

    original = modeling_deberta_v2.scaled_size_sqrt
    monkeypatch.setattr(modeling_deberta_v2, "scaled_size_sqrt", lambda q, factor: original(q, factor + 1))


@pytest.mark.parametrize(("arch", "change"), [("mpnet", _mpnet_scale_changed), ("deberta-v2", _deberta_scale_changed)])
def test_a_changed_score_computation_is_refused_not_misread(
    arch: str, change, arch_folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transformers release that computes these models' scores otherwise than the capture assumes
    stops the run with a one-line error; the model is left without the capture."""
    model = AutoModelForSequenceClassification.from_pretrained(arch_folders[arch]).eval()
    change(monkeypatch)
    with pytest.raises(TinyBertError, match=r"do not reproduce the model's own attention.*attention=0"):
        use_score_attention(model, "--teacher")
    assert not uses_score_attention(model)
    out = model(**_batch(), output_attentions=True).attentions[0]  # probabilities again
    torch.testing.assert_close(out.sum(-1), torch.ones_like(out.sum(-1)))
