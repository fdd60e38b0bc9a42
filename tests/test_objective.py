"""The TinyBERT objective: which parts each stage computes, what trains, and what stays frozen."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from tinybert.config import LossWeights, StudentShape
from tinybert.distillation.layer_map import uniform_map
from tinybert.distillation.objective import TEACHER_LOGITS, DistillationModule
from tinybert.errors import TinyBertError
from tinybert.models.attention import use_score_attention
from tinybert.models.students import build_student


def _batch() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[2, 5, 6, 7, 21, 3], [2, 9, 30, 3, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": torch.tensor([1, 0])}


def _module(teacher_dir: Path, stage: str, hidden: int = 16, weights: LossWeights | None = None) -> DistillationModule:
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir)
    student = build_student(teacher.config, StudentShape(layers=2, hidden=hidden, heads=4, intermediate=32))
    use_score_attention(teacher)
    use_score_attention(student)
    return DistillationModule(student, teacher, uniform_map(2, 4), weights or LossWeights(), stage)


def test_intermediate_stage_trains_student_and_projections_not_teacher(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "intermediate").train()
    assert module.student.training and not module.teacher.training  # no dropout in the teacher
    out = module(_batch())
    assert set(out.parts) == {"embedding", "hidden", "attention"}
    expected = sum(v.item() for v in out.parts.values())  # all weights 1
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)
    out.loss.backward()
    assert all(p.grad is None for p in module.teacher.parameters())
    assert all(isinstance(p, nn.Linear) for p in module.projections)  # 16 -> 32 wide
    assert all(p.weight.grad is not None for p in module.projections)
    assert module.student.bert.encoder.layer[0].attention.self.query.weight.grad is not None
    # The projections are not part of the student that gets saved.
    assert not any("projection" in k for k in module.student.state_dict())


def test_teacher_outputs_are_deterministic_in_train_mode(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "prediction").train()
    logits = [module.teacher(**{k: v for k, v in _batch().items() if k != "labels"}).logits for _ in range(2)]
    torch.testing.assert_close(logits[0], logits[1])


def test_prediction_stage_parts_and_hard_label(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "prediction", weights=LossWeights(hard_label=0.5))
    out = module(_batch())
    assert set(out.parts) == {"prediction", "hard_label"}
    assert out.loss.item() == pytest.approx((out.parts["prediction"] + 0.5 * out.parts["hard_label"]).item(), rel=1e-5)


def test_equal_widths_need_no_projection(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "intermediate", hidden=32)
    assert all(isinstance(p, nn.Identity) for p in module.projections)


def test_zero_weights_for_a_stage_is_an_error(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "prediction", weights=LossWeights(prediction=0.0))
    with pytest.raises(TinyBertError, match="all loss weights"):
        module(_batch())


def test_cached_teacher_logits_give_the_same_loss_without_running_the_teacher(tiny_teacher: Path) -> None:
    module = _module(tiny_teacher, "prediction", weights=LossWeights(hard_label=0.5)).eval()
    batch = _batch()
    live = module(batch)
    with torch.inference_mode():
        logits = module.teacher(**{k: v for k, v in batch.items() if k != "labels"}).logits

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the teacher ran although its logits were in the batch")

    module.teacher.forward = refuse
    cached = module({**batch, TEACHER_LOGITS: logits.clone()})
    assert cached.loss.item() == pytest.approx(live.loss.item(), rel=1e-6)
    assert {k: v.item() for k, v in cached.parts.items()} == pytest.approx(
        {k: v.item() for k, v in live.parts.items()}, rel=1e-6
    )
    # the intermediate stage ignores the key and needs the teacher's hidden states
    with pytest.raises(AssertionError, match="the teacher ran"):
        _module_like(module, "intermediate")({**batch, TEACHER_LOGITS: logits})


def _module_like(module: DistillationModule, stage: str) -> DistillationModule:
    return DistillationModule(module.student, module.teacher, module.layer_map, module.weights, stage)


def test_teacher_logits_are_computed_once_in_example_order(tiny_teacher: Path) -> None:
    """The prediction stage's targets equal the teacher's own logits on each unpadded example."""
    from accelerate import Accelerator
    from transformers import AutoTokenizer

    from tinybert.distillation.teacher_cache import with_teacher_logits

    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_teacher)
    sentences = ["good", "a very long and rather boring film that goes on", "bad film", "fine"] * 5
    train = [{**tokenizer(s), "label": i % 2} for i, s in enumerate(sentences)]
    features = SimpleNamespace(train=train, tokenizer=tokenizer)
    cached = with_teacher_logits(teacher, features, Accelerator(cpu=True), batch_size=3)
    assert len(cached) == len(train)
    for original, row in zip(train, cached, strict=True):
        assert {k: v for k, v in row.items() if k != TEACHER_LOGITS} == original
        with torch.inference_mode():
            expected = teacher(input_ids=torch.tensor([original["input_ids"]])).logits[0]
        torch.testing.assert_close(torch.tensor(row[TEACHER_LOGITS]), expected, atol=1e-5, rtol=1e-5)
