"""The TinyBERT objective: which parts each stage computes, what trains, and what stays frozen."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from tinybert.config import LossWeights, StudentShape
from tinybert.distillation.objective import TEACHER_LOGITS, DistillationModule
from tinybert.errors import TinyBertError
from tinybert.models.attention import use_score_attention
from tinybert.models.layer_map import uniform_map
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


@pytest.mark.parametrize("packs", [True, False], ids=["packed", "padded"])
@pytest.mark.parametrize("weights", [LossWeights(), LossWeights(attention=0.0), LossWeights(hidden=0.0, embedding=0.0)])
def test_stored_teacher_outputs_give_the_live_losses_and_gradients_without_the_teacher(
    tiny_teacher: Path, tmp_path: Path, packs: bool, weights: LossWeights
) -> None:
    """The intermediate stage reading the teacher's outputs from disk computes what it computes
    with the teacher running: the same loss parts and gradients, to float32 rounding (the stored
    outputs come from other batches than the step's, and a matrix product's rounding depends on
    its shape), whether the step packs its tokens or pads them."""
    from accelerate import Accelerator

    from tinybert.data.features import Collate
    from tinybert.distillation.teacher_states import INDEX_KEY, teacher_states

    module = _module(tiny_teacher, "intermediate", weights=weights).train()
    module.packs = packs
    rows = [
        {"input_ids": ids, "attention_mask": [1] * len(ids)}
        for ids in ([2, 5, 6, 7, 21, 3], [2, 9, 30, 3], [2, 11, 3], [2, 8, 8, 9, 10, 12, 14, 3])
    ]
    layout = module.states_layout()
    assert layout.hidden_layers == ((0, 2, 4) if weights.hidden else ())
    assert layout.attention_layers == ((1, 3) if weights.attention else ())
    collate = Collate(lambda fs: {k: pad_rows([f[k] for f in fs]) for k in fs[0]})
    states = teacher_states(module.teacher, rows, layout, tmp_path / "states", Accelerator(cpu=True), collate, 3)
    on_disk = sum(p.stat().st_size for p in (tmp_path / "states").glob("*.f32"))
    assert states.nbytes == layout.nbytes([6, 4, 3, 8]) == on_disk

    batch = collate([{**rows[i], INDEX_KEY: i} for i in (3, 1, 0)])  # another batch than any stored one
    torch.manual_seed(0)  # the same dropout in both steps
    live = module(batch)
    live.loss.backward()
    live_grads = [p.grad.clone() for p in module.student.parameters() if p.grad is not None]
    module.zero_grad()

    module.states = states
    module.teacher.forward = _refuse
    torch.manual_seed(0)
    stored = module(batch)
    stored.loss.backward()
    stored_grads = [p.grad for p in module.student.parameters() if p.grad is not None]
    assert stored.parts.keys() == live.parts.keys()
    for name in live.parts:
        torch.testing.assert_close(stored.parts[name], live.parts[name], rtol=1e-5, atol=1e-7)
    assert len(stored_grads) == len(live_grads)
    for a, b in zip(stored_grads, live_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_stored_teacher_outputs_are_rebuilt_for_other_inputs_or_another_teacher(
    tiny_teacher: Path, tmp_path: Path
) -> None:
    from accelerate import Accelerator

    from tinybert.data.features import Collate
    from tinybert.distillation.teacher_states import teacher_states

    module = _module(tiny_teacher, "intermediate")
    layout, folder, acc = module.states_layout(), tmp_path / "states", Accelerator(cpu=True)
    collate = Collate(lambda fs: {k: pad_rows([f[k] for f in fs]) for k in fs[0]})
    rows = [{"input_ids": [2, 5, 6, 3], "attention_mask": [1, 1, 1, 1]}]
    first = teacher_states(module.teacher, rows, layout, folder, acc, collate)
    stamp = (folder / "index.json").stat().st_mtime_ns
    teacher_states(module.teacher, rows, layout, folder, acc, collate)
    assert (folder / "index.json").stat().st_mtime_ns == stamp  # reused, not recomputed
    other = teacher_states(module.teacher, [{**rows[0], "input_ids": [2, 5, 7, 3]}], layout, folder, acc, collate)
    assert other.fingerprint != first.fingerprint
    with torch.no_grad():
        module.teacher.bert.encoder.layer[0].output.dense.weight.add_(0.01)
    changed = teacher_states(module.teacher, rows, layout, folder, acc, collate)
    assert changed.fingerprint not in (first.fingerprint, other.fingerprint)
    assert not torch.equal(torch.from_numpy(changed.hidden[:].copy()), torch.from_numpy(first.hidden[:].copy()))


def pad_rows(values: list[list[int]]) -> torch.Tensor:
    """Rows of ids -> (B, L), right-padded with 0."""
    return torch.tensor([v + [0] * (max(map(len, values)) - len(v)) for v in values])


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the teacher ran although its outputs were stored")
