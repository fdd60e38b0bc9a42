"""Score capture, student construction and initialisation from the teacher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from builders import make_model
from tinybert.config import StudentShape
from tinybert.errors import TinyBertError
from tinybert.models.attention import use_default_attention, use_score_attention
from tinybert.models.layer_map import uniform_map
from tinybert.models.loading import load_classifier
from tinybert.models.students import build_student, init_from_teacher, resolve_shape, teacher_keys


def _inputs() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[2, 5, 6, 7, 21, 3], [2, 9, 30, 3, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


def test_score_attention_returns_pre_softmax_scores_and_same_outputs(tiny_teacher: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    inputs = _inputs()
    reference = model(**inputs).logits  # library default attention (sdpa)
    use_score_attention(model)
    out = model(**inputs, output_attentions=True, output_hidden_states=True)
    torch.testing.assert_close(out.logits, reference, atol=1e-5, rtol=1e-4)
    assert len(out.attentions) == 4 and len(out.hidden_states) == 5
    # Layer 1's scores recomputed by hand from its query/key weights and the embedding output.
    attn = model.bert.encoder.layer[0].attention.self
    h = out.hidden_states[0]  # (B, L, D)
    q = attn.query(h).view(2, 6, 4, 8).transpose(1, 2)  # (B, H, L, Dh)
    k = attn.key(h).view(2, 6, 4, 8).transpose(1, 2)
    expected = q @ k.transpose(-1, -2) / 8**0.5  # (B, H, L, L)
    torch.testing.assert_close(out.attentions[0], expected, atol=1e-5, rtol=1e-4)
    # Scores are raw (no additive mask): padded keys are ordinary finite numbers.
    assert torch.isfinite(out.attentions[0]).all()


def test_padding_is_masked_under_score_attention(tiny_teacher: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher).eval()
    use_score_attention(model)
    inputs = _inputs()
    other = {k: v.clone() for k, v in inputs.items()}
    other["input_ids"][1, 4:] = 7  # different tokens in the padded positions
    a = model(**inputs).logits
    b = model(**other).logits
    torch.testing.assert_close(a[1], b[1])


def test_saved_model_does_not_keep_custom_attention(tiny_teacher: Path, tmp_path: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    use_score_attention(model)
    use_default_attention(model)
    model.save_pretrained(tmp_path / "m")
    assert "tinybert" not in (tmp_path / "m" / "config.json").read_text()


def test_build_student_keeps_teacher_vocab_and_labels(tiny_teacher: Path) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    student = build_student(teacher.config, StudentShape(layers=2, hidden=16, heads=4, intermediate=24))
    assert student.config.num_hidden_layers == 2 and student.config.hidden_size == 16
    assert student.config.vocab_size == teacher.config.vocab_size
    assert student.config.id2label == teacher.config.id2label


def test_resolve_shape_defaults() -> None:
    from transformers import BertConfig

    teacher = BertConfig(num_hidden_layers=6, hidden_size=384, num_attention_heads=12, intermediate_size=1536)
    assert resolve_shape(teacher, None, None, None, None, None) == StudentShape(4, 312, 12, 1200)
    assert resolve_shape(teacher, None, 3, None, None, None) == StudentShape(3, 384, 12, 1536)
    assert resolve_shape(teacher, None, 4, 256, 8, None) == StudentShape(4, 256, 8, 1024)
    assert resolve_shape(teacher, "tinybert-6l-768", None, None, None, None) == StudentShape(6, 768, 12, 3072)


def test_teacher_keys_map_layer_modules_by_structure(tiny_teacher: Path) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    student = build_student(teacher.config, StudentShape(layers=2, hidden=32, heads=4, intermediate=64))
    keys = teacher_keys(student, teacher, uniform_map(2, 4))  # student layer 1 <- teacher layer 2, 2 <- 4
    assert (
        keys["bert.encoder.layer.0.attention.self.query.weight"] == "bert.encoder.layer.1.attention.self.query.weight"
    )
    assert keys["bert.encoder.layer.1.output.dense.bias"] == "bert.encoder.layer.3.output.dense.bias"
    assert keys["bert.embeddings.word_embeddings.weight"] == "bert.embeddings.word_embeddings.weight"
    assert keys["classifier.weight"] == "classifier.weight"


def test_init_from_teacher_copies_exactly_the_mapped_tensors(tiny_teacher: Path) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    student = build_student(teacher.config, StudentShape(layers=2, hidden=32, heads=4, intermediate=64))
    report = init_from_teacher(student, teacher, uniform_map(2, 4))
    t, s = teacher.state_dict(), student.state_dict()
    assert not report.skipped
    assert set(report.copied) == set(s)
    for name in s:
        if ".layer.0." in name:
            assert torch.equal(s[name], t[name.replace(".layer.0.", ".layer.1.")]), name
        elif ".layer.1." in name:
            assert torch.equal(s[name], t[name.replace(".layer.1.", ".layer.3.")]), name
        else:
            assert torch.equal(s[name], t[name]), name
    # Student layer 1 must NOT be teacher layer 1 (the mapping, not the position, decides).
    assert not torch.equal(s["bert.encoder.layer.0.output.dense.weight"], t["bert.encoder.layer.0.output.dense.weight"])


def test_init_from_teacher_skips_tensors_of_another_shape(tiny_teacher: Path) -> None:
    teacher = AutoModelForSequenceClassification.from_pretrained(tiny_teacher)
    student = build_student(teacher.config, StudentShape(layers=2, hidden=32, heads=4, intermediate=48))
    before = {k: v.clone() for k, v in student.state_dict().items()}
    report = init_from_teacher(student, teacher, uniform_map(2, 4))
    ffn = "bert.encoder.layer.0.intermediate.dense.weight"
    assert any(s.startswith(ffn) for s in report.skipped)
    assert torch.equal(student.state_dict()[ffn], before[ffn])  # left as it was
    assert "bert.encoder.layer.0.attention.self.query.weight" in report.copied


def test_teacher_with_unnamed_labels_is_refused(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "t", labels=("LABEL_0", "LABEL_1"))
    with pytest.raises(TinyBertError, match="unnamed"):
        load_classifier(str(folder), ("negative", "positive"), "--teacher", new_head=False)


def test_teacher_with_other_labels_is_refused(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "t", labels=("cat", "dog"))
    with pytest.raises(TinyBertError, match=r"predicts labels \['cat', 'dog'\]"):
        load_classifier(str(folder), ("negative", "positive"), "--teacher", new_head=False)


def test_teacher_label_order_is_kept(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "t", labels=("positive", "negative"))
    model = load_classifier(str(folder), ("negative", "positive"), "--teacher", new_head=False)
    assert model.config.id2label == {0: "positive", 1: "negative"}


def test_folder_student_classifier_is_permuted_into_the_teachers_label_order(tmp_path: Path) -> None:
    from tinybert.config import StudentSpec
    from tinybert.models.students import make_student

    teacher = AutoModelForSequenceClassification.from_pretrained(make_model(tmp_path / "t"))
    folder = make_model(tmp_path / "s", layers=2, labels=("positive", "negative"), seed=3)
    original = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    student, _, info = make_student(StudentSpec(student=str(folder)), teacher, ("negative", "positive"))
    assert info["head"] == "kept, permuted into the teacher's label order"
    assert student.config.id2label == {0: "negative", 1: "positive"}
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    with torch.no_grad():
        before, after = original(input_ids=ids).logits, student.eval()(input_ids=ids).logits
    torch.testing.assert_close(after, before[:, [1, 0]])  # each label keeps its own score


def test_folder_student_with_other_labels_is_refused_and_a_new_head_is_said(tmp_path: Path) -> None:
    from tinybert.config import StudentSpec
    from tinybert.models.students import make_student

    teacher = AutoModelForSequenceClassification.from_pretrained(make_model(tmp_path / "t"))
    three = make_model(tmp_path / "s3", layers=2, labels=("a", "b", "c"))
    with pytest.raises(TinyBertError, match=r"--student .*s3: the model predicts labels \['a', 'b', 'c'\]"):
        make_student(StudentSpec(student=str(three)), teacher, ("negative", "positive"))
    encoder = make_model(tmp_path / "enc", layers=2, head=False)
    assert "BertModel" in json.loads((encoder / "config.json").read_text())["architectures"]
    _, _, info = make_student(StudentSpec(student=str(encoder)), teacher, ("negative", "positive"))
    assert info["head"] == "new"
