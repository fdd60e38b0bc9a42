"""Structured and vocabulary pruning (models/pruning.py, models/vocab.py, tinybert prune, --init prune)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from architectures import make_arch_model
from builders import make_model, run_cli, write_sst2
from tinybert.config import StudentShape
from tinybert.distillation.objective import make_projection
from tinybert.errors import TinyBertError
from tinybert.models.pruning import Cut, apply_cut, check_shape, choose_cut, full_cut, layer_parts, measure_importance
from tinybert.models.vocab import dropped_share, kept_ids, piece_counts, prune_vocabulary
from tinybert.results import PruneResult, parse

TEXTS = ["the movie was good and fun .", "the plot was awful , boring and weak .", "a nice film"]


def _load(folder: Path) -> torch.nn.Module:
    return AutoModelForSequenceClassification.from_pretrained(folder).eval()


def _batches(tokenizer, texts=TEXTS, labels=(1, 0, 1)) -> list[dict]:
    enc = tokenizer(list(texts), padding=True, return_tensors="pt")
    return [{**enc, "labels": torch.tensor(labels)}]


@pytest.mark.parametrize(
    "arch", ["bert", "distilbert", "roberta", "xlm-roberta", "electra", "mpnet", "deberta-v2", "deberta-v3"]
)
def test_a_cut_that_keeps_everything_equals_the_original(arch: str, tmp_path: Path) -> None:
    folder = make_arch_model(tmp_path / arch, arch)
    model, tokenizer = _load(folder), AutoTokenizer.from_pretrained(folder)
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    same = apply_cut(model, full_cut(model)).eval()
    with torch.no_grad():
        assert torch.equal(same(**enc).logits, model(**enc).logits)


def _narrow_cut(layers: list[int]) -> Cut:
    """Two of a 32-wide, 4-head (size 8), FFN-64 teacher's layers cut to 8 residual dimensions, 2 heads of
    size 4 and 32 neurons, with scattered indices."""
    return Cut(
        layers=layers,
        hidden=[1, 4, 9, 12, 17, 22, 27, 30],
        heads=[[0, 2], [1, 3]],
        qk_dims=[[[1, 4, 6, 7], [0, 2, 3, 5]], [[0, 1, 2, 3], [4, 5, 6, 7]]],
        v_dims=[[[0, 1, 2, 7], [3, 4, 5, 6]], [[1, 3, 5, 7], [0, 2, 4, 6]]],
        neurons=[list(range(10, 42)), list(range(0, 64, 2))],
    )


def test_a_cut_keeps_exactly_the_selected_weights(tmp_path: Path) -> None:
    model = _load(make_model(tmp_path / "m", layers=3, hidden=32, heads=4, intermediate=64))
    d_head = 8
    cut = _narrow_cut([1, 3])
    hidden = cut.hidden
    student = apply_cut(model, cut)
    assert (student.config.num_hidden_layers, student.config.hidden_size) == (2, 8)
    assert (student.config.num_attention_heads, student.config.intermediate_size) == (2, 32)
    h = torch.tensor(hidden)
    t_layers, s_layers = model.bert.encoder.layer, student.bert.encoder.layer
    for m, t in enumerate(cut.layers):
        tp, sp = layer_parts(t_layers[t - 1], 32, "x"), layer_parts(s_layers[m], 8, "x")
        pairs = list(zip(cut.heads[m], cut.qk_dims[m], cut.v_dims[m], strict=True))
        qk = torch.tensor([head * d_head + j for head, dims, _ in pairs for j in dims])
        v = torch.tensor([head * d_head + j for head, _, dims in pairs for j in dims])
        n = torch.tensor(cut.neurons[m])
        scale = math.sqrt(4 / 8)
        assert torch.allclose(sp.query.weight, tp.query.weight[qk][:, h] * scale)
        assert torch.allclose(sp.query.bias, tp.query.bias[qk] * scale)
        assert torch.equal(sp.key.weight, tp.key.weight[qk][:, h])
        assert torch.equal(sp.value.weight, tp.value.weight[v][:, h])
        assert torch.equal(sp.output.weight, tp.output.weight[h][:, v])
        assert torch.equal(sp.ffn_in.weight, tp.ffn_in.weight[n][:, h])
        assert torch.equal(sp.ffn_out.weight, tp.ffn_out.weight[h][:, n])
        assert torch.equal(sp.ffn_norm.weight, tp.ffn_norm.weight[h])
    emb_t, emb_s = model.bert.embeddings, student.bert.embeddings
    assert torch.equal(emb_s.word_embeddings.weight, emb_t.word_embeddings.weight[:, h])
    assert torch.equal(emb_s.position_embeddings.weight, emb_t.position_embeddings.weight[:, h])
    assert torch.equal(student.bert.pooler.dense.weight, model.bert.pooler.dense.weight[h][:, h])
    assert torch.equal(student.classifier.weight, model.classifier.weight[:, h])


def _head_cut(model: torch.nn.Module, heads: list[list[int]]) -> Cut:
    """Layers 1 and 3 of 4, 16 of 32 residual dimensions, 2 of 4 heads (size 8 of 8), 40 of 64 neurons."""
    return Cut(
        layers=[1, 3],
        hidden=list(range(16)),
        heads=heads,
        qk_dims=[[list(range(8))] * 2] * 2,
        v_dims=[[list(range(8))] * 2] * 2,
        neurons=[list(range(0, 40)), list(range(24, 64))],
    )


def test_an_mpnet_cut_keeps_the_same_heads_and_their_relative_bias_columns(tmp_path: Path) -> None:
    model = _load(make_arch_model(tmp_path / "mpnet", "mpnet"))
    with pytest.raises(TinyBertError, match="shared by all layers; the cut must keep the same heads"):
        apply_cut(model, _head_cut(model, [[0, 2], [1, 3]]))
    student = apply_cut(model, _head_cut(model, [[1, 3], [1, 3]]))
    bias_t, bias_s = model.mpnet.encoder.relative_attention_bias, student.mpnet.encoder.relative_attention_bias
    assert torch.equal(bias_s.weight, bias_t.weight[:, [1, 3]])  # (buckets, heads): the kept heads' columns
    qk = torch.tensor([8 + j for j in range(8)] + [24 + j for j in range(8)])
    attn_t, attn_s = model.mpnet.encoder.layer[2].attention.attn, student.mpnet.encoder.layer[1].attention.attn
    assert torch.equal(attn_s.q.weight, attn_t.q.weight[qk][:, :16])
    assert torch.equal(attn_s.k.weight, attn_t.k.weight[qk][:, :16])
    # heads chosen by importance: one set for every layer, from their importance summed over the kept layers
    importance = measure_importance(model, _batches(AutoTokenizer.from_pretrained(tmp_path / "mpnet")), heads=True)
    importance.heads = [torch.tensor([4.0, 0, 0, 1]), torch.zeros(4), torch.tensor([0, 3.0, 0, 2.5]), torch.zeros(4)]
    cut = choose_cut(model, importance, StudentShape(layers=2, hidden=16, heads=2, intermediate=32), (1, 3))
    assert cut.heads == [[0, 3], [0, 3]]  # sums 4, 3, 0, 3.5: not layer 1's [0, 3] and layer 3's [1, 3]
    assert "summed over the kept layers" in cut.estimators["heads"]


@pytest.mark.parametrize("arch", ["deberta-v2", "deberta-v3"])
def test_a_deberta_cut_keeps_its_position_projections_and_relative_embeddings(arch: str, tmp_path: Path) -> None:
    model = _load(make_arch_model(tmp_path / arch, arch))
    cut = _narrow_cut([2, 4])
    hidden = cut.hidden
    student = apply_cut(model, cut)
    h, scale = torch.tensor(hidden), math.sqrt(4 / 8)
    for m, t in enumerate(cut.layers):
        tp = layer_parts(model.deberta.encoder.layer[t - 1], 32, "x")
        sp = layer_parts(student.deberta.encoder.layer[m], 8, "x")
        qk = torch.tensor([hd * 8 + j for hd, dims in zip(cut.heads[m], cut.qk_dims[m], strict=True) for j in dims])
        assert torch.allclose(sp.query.weight, tp.query.weight[qk][:, h] * scale)
        assert torch.equal(sp.key.weight, tp.key.weight[qk][:, h])
        if arch == "deberta-v3":  # shared keys: the position terms use the query and key projections
            assert sp.pos_key is None and sp.pos_query is None and tp.pos_key is None
        else:
            assert torch.equal(sp.pos_key.weight, tp.pos_key.weight[qk][:, h])
            assert torch.equal(sp.pos_key.bias, tp.pos_key.bias[qk])
            assert torch.allclose(sp.pos_query.weight, tp.pos_query.weight[qk][:, h] * scale)
            assert torch.allclose(sp.pos_query.bias, tp.pos_query.bias[qk] * scale)
    rel_t, rel_s = model.deberta.encoder.rel_embeddings, student.deberta.encoder.rel_embeddings
    assert torch.equal(rel_s.weight, rel_t.weight[:, h])
    norm_t, norm_s = (
        getattr(model.deberta.encoder, "LayerNorm", None),
        getattr(student.deberta.encoder, "LayerNorm", None),
    )
    if norm_t is not None:
        assert torch.equal(norm_s.weight, norm_t.weight[h])
    student(**_batches(AutoTokenizer.from_pretrained(tmp_path / arch))[0])  # runs in its own shape


@torch.no_grad()
def test_importance_ranks_a_dead_head_neuron_and_dimension_last(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", layers=2, hidden=32, heads=4, intermediate=64, dropout=0.0)
    model, tokenizer = _load(folder), AutoTokenizer.from_pretrained(folder)
    parts = layer_parts(model.bert.encoder.layer[0], 32, "x")
    parts.value.weight[8:16] = 0  # head 1 of layer 1 outputs nothing
    parts.value.bias[8:16] = 0
    parts.ffn_in.weight[5] = 0  # neuron 5: GELU(0) = 0 always
    parts.ffn_in.bias[5] = 0
    parts.query.weight[3] = 0  # query dim 3 of head 0: no term in the scores
    parts.query.bias[3] = 0
    # residual dimension 7: zero everywhere it is written (every LayerNorm's scale and shift)
    for norm in [model.bert.embeddings.LayerNorm] + [
        n for layer in model.bert.encoder.layer for n in layer.modules() if isinstance(n, torch.nn.LayerNorm)
    ]:
        norm.weight[7] = 0
        norm.bias[7] = 0
    imp = measure_importance(model, _batches(tokenizer) * 2, heads=True)
    assert imp.head_estimator == "gradient"
    assert int(imp.heads[0].argmin()) == 1 and float(imp.heads[0][1]) == 0.0
    assert int(imp.neurons[0].argmin()) == 5
    assert int(imp.qk_dims[0][0].argmin()) == 3
    assert int(imp.hidden.argmin()) == 7
    cut = choose_cut(model, imp, StudentShape(layers=2, hidden=24, heads=3, intermediate=63))
    assert 1 not in cut.heads[0] and 5 not in cut.neurons[0] and 7 not in cut.hidden
    # Without labels, heads are ranked by their output norm: the dead head is still last.
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    imp = measure_importance(model, [dict(enc)], heads=True)
    assert imp.head_estimator == "activation" and int(imp.heads[0].argmin()) == 1


def test_layers_are_the_uniform_map_unless_chosen_by_block_importance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64, dropout=0.0)
    model = _load(teacher)
    # Layer 3 adds nothing to its input: its output is LayerNorm(LayerNorm(input)) = its input
    # (the input is already a LayerNorm output with unit scale and zero shift), so 1 - cos = 0.
    parts = layer_parts(model.bert.encoder.layer[2], 32, "x")
    for linear in (parts.output, parts.ffn_out):
        linear.weight.data.zero_()
        linear.bias.data.zero_()
    dead = tmp_path / "dead-layer-3"
    model.save_pretrained(dead)
    AutoTokenizer.from_pretrained(teacher).save_pretrained(dead)
    imp = measure_importance(model, _batches(AutoTokenizer.from_pretrained(teacher)), heads=False)
    assert int(imp.layers.argmin()) == 2 and float(imp.layers[2]) < 1e-5 < float(imp.layers.sort().values[1])
    data = write_sst2(tmp_path / "SST-2", n_train=32, n_dev=8)
    base = ["prune", "--model", dead, "--task", "sst2", "--data-dir", data, "--layers", "3"]
    cuts = {}
    for choice in ("uniform", "importance"):
        out = tmp_path / choice
        code, err = run_cli([*base, "--layer-choice", choice, "--output", out], monkeypatch, capsys)
        assert code == 0, err
        cuts[choice] = json.loads((out / "pruning.json").read_text())["cut"]
    assert cuts["uniform"]["layers"] == [1, 3, 4]  # round(m * 4 / 3): the dead layer is kept
    assert cuts["uniform"]["estimators"]["layers"].startswith("uniform map")
    assert cuts["importance"]["layers"] == [1, 2, 4]  # the dead layer is the one dropped
    assert cuts["importance"]["estimators"]["layers"].startswith("block importance")
    code, err = run_cli([*base, "--layer-choice", "importance", "--layer-map", "1,2,4", "--output", tmp_path / "x"],
                        monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "--layer-choice" in err and "--layer-map fixes the layers" in err
    # --init prune chooses the same way; --layer-choice means nothing to another init.
    distill = [
        "distill", "--teacher", dead, "--task", "sst2", "--data-dir", data, "--layers", "3", "--hidden", "16",
        "--init", "prune", "--epochs", "1", "--batch-size", "16", "--stage", "prediction",
    ]  # fmt: skip
    for choice, layers in (("uniform", [1, 3, 4]), ("importance", [1, 2, 4])):
        out = tmp_path / f"student-{choice}"
        code, err = run_cli([*distill, "--layer-choice", choice, "--output", out], monkeypatch, capsys)
        assert code == 0, err
        assert json.loads((out / "metrics.json").read_text())["student"]["layer_map"] == layers
    code, err = run_cli(
        [*distill[:-8], "--init", "teacher", "--layer-choice", "importance", "--output", tmp_path / "y"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "--layer-choice" in err and "chooses the layers of --init prune" in err


def test_shapes_the_config_cannot_state_are_refused(tmp_path: Path) -> None:
    model = _load(make_model(tmp_path / "m", hidden=32, heads=4))
    with pytest.raises(TinyBertError, match="head size of 16, larger than the teacher's 8"):
        check_shape(model, StudentShape(layers=2, hidden=32, heads=2, intermediate=32))
    with pytest.raises(TinyBertError, match="30 is not divisible by heads 4"):
        check_shape(model, StudentShape(layers=2, hidden=30, heads=4, intermediate=32))
    with pytest.raises(TinyBertError, match=r"student layers 5, expected 1\.\.4"):
        check_shape(model, StudentShape(layers=5, hidden=32, heads=4, intermediate=32))
    albert = _load(make_arch_model(tmp_path / "albert", "albert"))
    with pytest.raises(TinyBertError, match="shares its layers' weights"):
        check_shape(albert, StudentShape(layers=2, hidden=32, heads=4, intermediate=32))


def test_the_projection_of_a_cut_starts_as_its_index_map() -> None:
    proj = make_projection(3, 5, [0, 2, 4])
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert torch.equal(proj(x), torch.tensor([[1.0, 0.0, 2.0, 0.0, 3.0]]))
    with pytest.raises(TinyBertError, match="3 kept dimensions for a width of 4"):
        make_projection(4, 5, [0, 1, 2])


def test_vocabulary_pruning_gives_identical_logits_inside_the_kept_vocabulary(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "m", dropout=0.0)
    model, tokenizer = _load(folder), AutoTokenizer.from_pretrained(folder)
    keep = kept_ids(tokenizer, piece_counts(tokenizer, TEXTS[:2]))
    enc = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        before = model(**enc).logits
    small, report = prune_vocabulary(model, tokenizer, keep)
    assert report.after == len(keep) < report.before and len(small) == len(keep)
    assert model.config.vocab_size == len(keep) and model.get_input_embeddings().num_embeddings == len(keep)
    enc2 = small(TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**enc2).logits, before)
    assert small.tokenize("the nice movie") == ["the", "[UNK]", "movie"]  # "nice" was not kept
    model.save_pretrained(tmp_path / "small")
    small.save_pretrained(tmp_path / "small")
    clf = pipeline("text-classification", model=str(tmp_path / "small"), device="cpu")
    assert clf(TEXTS[0])[0]["label"] in {"negative", "positive"}
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "small")
    assert reloaded(TEXTS[1])["input_ids"] == small(TEXTS[1])["input_ids"] == enc2["input_ids"][1].tolist()


def test_prune_command_gives_a_plain_folder_with_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64)
    data = write_sst2(tmp_path / "SST-2", n_train=48, n_dev=16)
    out = tmp_path / "pruned"
    args = ["prune", "--model", teacher, "--task", "sst2", "--data-dir", data, "--output", out]
    code, err = run_cli(
        [*args, "--layers", "2", "--hidden", "16", "--heads", "2", "--prune-vocab"], monkeypatch, capsys
    )
    assert code == 0, err
    report = json.loads((out / "pruning.json").read_text())
    parse(PruneResult, report, strict=True)  # every key prune writes is a field of its typed result
    assert report["cut"]["shape"] == {"layers": 2, "hidden": 16, "heads": 2, "intermediate": 64}
    assert report["cut"]["estimators"]["heads"] == "gradient"
    assert len(report["cut"]["heads"]) == 2 and all(len(h) == 2 for h in report["cut"]["heads"])
    assert report["vocab"]["after"] < report["vocab"]["before"]
    model = _load(out)
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.num_attention_heads) == (2, 16, 2)
    assert model.config.vocab_size == report["vocab"]["after"]
    clf = pipeline("text-classification", model=str(out), device="cpu")
    assert clf(TEXTS[0])[0]["label"] in {"negative", "positive"}
    code, err = run_cli([*args, "--overwrite"], monkeypatch, capsys)
    assert code == 2 and "nothing to prune" in err
    # Recovery: distilling the cut from the teacher it was cut from uses the cut's layers, index-map
    # projections and head map (pruning.json), as --init prune does.
    code, err = run_cli(
        [*args[:-1], tmp_path / "cut", "--layers", "2", "--hidden", "16", "--heads", "2"], monkeypatch, capsys
    )
    assert code == 0, err
    cut = json.loads((tmp_path / "cut" / "pruning.json").read_text())["cut"]
    code, err = run_cli(
        [
            "distill", "--teacher", teacher, "--student", tmp_path / "cut", "--task", "sst2", "--data-dir", data,
            "--epochs", "1", "--batch-size", "16", "--output", tmp_path / "recovered",
        ],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    student = json.loads((tmp_path / "recovered" / "metrics.json").read_text())["student"]
    assert student["layer_map"] == cut["layers"] and student["kept_heads"] == cut["heads"]
    assert student["kept_hidden"] == cut["hidden"]


@pytest.mark.parametrize("how", ["cli", "recipe"])
def test_prune_init_then_distill_end_to_end(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64, dropout=0.0)
    data = write_sst2(tmp_path / "SST-2", n_train=48, n_dev=16)
    if how == "cli":
        out = tmp_path / "student"
        code, err = run_cli(
            [
                "distill", "--teacher", teacher, "--task", "sst2", "--data-dir", data, "--output", out,
                "--layers", "2", "--hidden", "16", "--heads", "2", "--intermediate", "32", "--init", "prune",
                "--epochs", "1", "--batch-size", "16", "--prune-samples", "32", "--prune-vocab",
            ],
            monkeypatch,
            capsys,
        )  # fmt: skip
        assert code == 0, err
    else:
        run = tmp_path / "run"
        recipe = tmp_path / "r.yaml"
        recipe.write_text(
            f"output: {run}\nteacher: {teacher}\ntask: sst2\ndata_dir: {data}\n"
            "finetune: {enabled: false}\n"
            "student: {layers: 2, hidden: 16, heads: 4, intermediate: 32, init: prune}\n"
            "distill: {intermediate_epochs: 1, prediction_epochs: 1, batch_size: 16}\n"
            "baseline: {enabled: false}\nexport: {enabled: false}\nbenchmark: {enabled: false}\n"
        )
        code, err = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
        assert code == 0, err
        out = run / "student"
    metrics = json.loads((out / "metrics.json").read_text())
    student = metrics["student"]
    assert student["init"] == "prune" and student["layers"] == 2 and student["hidden"] == 16
    assert student["layer_map"] == student["pruning"]["layers"]
    assert len(student["kept_hidden"]) == 16
    assert ("kept_heads" in student) == (how == "cli")
    assert set(metrics["stages"]) == {"intermediate", "prediction"}
    model = _load(out)
    assert model.config.hidden_size == 16
    if how == "cli":  # --prune-vocab: the saved student and tokenizer have the training data's pieces only
        vocab = student["vocab"]
        assert vocab["after"] < vocab["before"] and model.config.vocab_size == vocab["after"]
        assert len(AutoTokenizer.from_pretrained(out)) == vocab["after"]
        clf = pipeline("text-classification", model=str(out), device="cpu")
        assert clf(TEXTS[0])[0]["label"] in {"negative", "positive"}


def test_general_distill_with_prune_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, head=False, labels=None)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n\n".join(" ".join(f"the film was good and {w} ." for w in ("fun", "sad", "nice")) for _ in range(40))
    )
    out = tmp_path / "general"
    code, err = run_cli(
        [
            "general-distill", "--teacher", teacher, "--corpus", corpus, "--output", out,
            "--layers", "2", "--hidden", "16", "--heads", "2", "--intermediate", "32", "--init", "prune",
            "--prune-samples", "8", "--max-seq-length", "16", "--max-steps", "2", "--eval-blocks", "4",
            "--eval-steps", "2", "--save-steps", "2", "--batch-size", "4",
        ],
        monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    student = json.loads((out / "metrics.json").read_text())["student"]
    assert student["init"] == "prune" and student["pruning"]["estimators"]["heads"] == "activation"
    assert len(student["kept_heads"]) == 2


def test_init_auto_copies_layers_cuts_or_starts_random(tmp_path: Path) -> None:
    from tinybert.config import StudentSpec
    from tinybert.models.students import auto_init

    teacher = _load(make_model(tmp_path / "m", layers=4, hidden=32, heads=4, intermediate=64))
    assert auto_init(StudentSpec(layers=2, init="auto"), teacher) == "teacher"
    assert auto_init(StudentSpec(layers=2, hidden=16, init="auto"), teacher) == "prune"
    assert auto_init(StudentSpec(layers=2, hidden=64, intermediate=64, init="auto"), teacher) == "random"  # wider
    assert auto_init(StudentSpec(layers=2, hidden=16, student_arch="bert", init="auto"), teacher) == "random"


def _bert_parameters(layers: int, hidden: int, heads: int, intermediate: int, vocab: int) -> tuple[int, int]:
    """(all, layer) parameters of a real (not meta) BERT classifier of this shape, 2 labels."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=64,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    body = sum(p.numel() for p in model.bert.parameters()) - sum(p.numel() for p in model.bert.embeddings.parameters())
    return sum(p.numel() for p in model.parameters()), body


def test_a_budget_gives_the_widest_shape_within_it(tmp_path: Path) -> None:
    from tinybert.models.budget import budget_shape

    teacher = _load(make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64))
    vocab = teacher.config.vocab_size
    _, original = _bert_parameters(4, 32, 4, 64, vocab)
    # head size 8: hidden 4k, FFN 8k for k = 1..8; sparsity 0.5 keeps at most half the layers' weights
    budget = budget_shape(teacher, (1, 2, 3, 4), AutoModelForSequenceClassification, sparsity=0.5)
    k = budget.shape.hidden // 4
    assert budget.shape == StudentShape(layers=4, hidden=4 * k, heads=4, intermediate=8 * k)
    assert budget.original_encoder_parameters == original
    assert budget.encoder_parameters == _bert_parameters(4, 4 * k, 4, 8 * k, vocab)[1] <= 0.5 * original
    assert _bert_parameters(4, 4 * (k + 1), 4, 8 * (k + 1), vocab)[1] > 0.5 * original  # one wider does not fit
    # a total budget counts embeddings and head too (with the vocabulary the result will have)
    total, _ = _bert_parameters(2, 16, 4, 32, 20)
    budget = budget_shape(
        teacher, (2, 4), AutoModelForSequenceClassification, target_params=total, vocab_size=20, option="x"
    )
    assert budget.shape == StudentShape(layers=2, hidden=16, heads=4, intermediate=32) and budget.parameters == total
    with pytest.raises(TinyBertError, match="--target-params: 100 parameters is out of reach with 2 layers"):
        budget_shape(teacher, (2, 4), AutoModelForSequenceClassification, target_params=100, option="--target-params")


def test_prune_to_a_sparsity_or_a_parameter_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64)
    data = write_sst2(tmp_path / "SST-2", n_train=48, n_dev=16)
    args = ["prune", "--model", teacher, "--task", "sst2", "--data-dir", data]
    code, err = run_cli([*args, "--sparsity", "0.5", "--output", tmp_path / "half"], monkeypatch, capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "half" / "pruning.json").read_text())
    shape = report["budget"]["shape"]
    assert report["cut"]["shape"] == shape and shape["layers"] == 4 and shape["hidden"] < 32
    assert 0.5 <= report["budget"]["encoder_sparsity"] < 0.75
    assert _load(tmp_path / "half").config.hidden_size == shape["hidden"]
    # a total budget with --prune-vocab counts the pruned vocabulary; --layers combines with it
    code, err = run_cli(
        [*args, "--target-params", "9000", "--layers", "2", "--prune-vocab", "--output", tmp_path / "small"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    report = json.loads((tmp_path / "small" / "pruning.json").read_text())
    assert report["after"]["parameters"] <= 9000 and report["after"]["layers"] == 2
    assert _load(tmp_path / "small").num_parameters() == report["after"]["parameters"]
    code, err = run_cli([*args, "--sparsity", "0.5", "--hidden", "16", "--output", tmp_path / "x"], monkeypatch, capsys)
    assert code == 2 and "--sparsity" in err and "sets the widths itself" in err
    code, err = run_cli([*args, "--target-params", "50", "--output", tmp_path / "x"], monkeypatch, capsys)
    assert code == 2 and "out of reach" in err and not (tmp_path / "x").exists()


def test_a_latency_budget_keeps_the_widest_shape_measured_within_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from tinybert.models import budget as budget_module

    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64)
    # A real measurement: a positive median in ms for the model's own shape and a narrower one.
    model = _load(teacher)
    full = budget_module.shape_latency_ms(
        model.config, StudentShape(4, 32, 4, 64), (1, 2, 3, 4), AutoModelForSequenceClassification, seq_len=16
    )
    assert 0 < full < 10_000
    # The search, on a latency that grows with the width (stand-in for the measurement): widest within it.
    measured: list[int] = []

    def fake_latency(config, shape, layers, head_class, seq_len, vocab_size=None) -> float:
        measured.append(shape.hidden)
        return shape.hidden * len(layers) / 4 + seq_len / 1000  # ms

    monkeypatch.setattr(budget_module, "shape_latency_ms", fake_latency)
    found = budget_module.budget_shape(
        model, (2, 4), AutoModelForSequenceClassification, target_latency_ms=10.0, seq_len=64, option="x"
    )
    # hidden 4k at 2 layers costs 2k + 0.064 ms: k = 4 is the widest within 10 ms
    assert found.shape == StudentShape(layers=2, hidden=16, heads=4, intermediate=32)
    assert found.latency_ms == pytest.approx(8.064) and found.original_latency_ms == pytest.approx(32.064)
    assert len(measured) <= 6  # a bisection, not a sweep: the narrowest, 3 probes, the model itself
    with pytest.raises(TinyBertError, match="--target-latency: 1 ms at batch 1 and 64 tokens is out of reach"):
        budget_module.budget_shape(
            model, (2, 4), AutoModelForSequenceClassification, target_latency_ms=1.0, seq_len=64,
            option="--target-latency",
        )  # fmt: skip
    # Through the CLI, with the stand-in: pruning.json says what was measured and where.
    data = write_sst2(tmp_path / "SST-2", n_train=32, n_dev=8)
    args = ["prune", "--model", teacher, "--task", "sst2", "--data-dir", data, "--latency-seq-len", "64"]
    code, err = run_cli([*args, "--target-latency", "10", "--layers", "2", "--output", tmp_path / "fast"],
                        monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "fast" / "pruning.json").read_text())
    assert report["cut"]["shape"] == {"layers": 2, "hidden": 16, "heads": 4, "intermediate": 32}
    latency = report["budget"]["latency"]
    assert latency["target_ms"] == 10 and latency["seq_len"] == 64 and latency["measured_ms"] == 8.064
    assert latency["model_ms"] == 32.064 and latency["threads"] >= 1
    code, err = run_cli([*args, "--target-latency", "10", "--target-params", "9000", "--output", tmp_path / "x"],
                        monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "give one budget" in err
    code, err = run_cli([*args[:-1], "1000", "--target-latency", "10", "--output", tmp_path / "x"],
                        monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "--latency-seq-len 1000" in err and "at most" in err and not (tmp_path / "x").exists()


def test_the_share_of_dev_pieces_a_pruned_vocabulary_drops_is_measured_and_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(make_model(tmp_path / "m"))
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    dev = [{"input_ids": [cls, 5, 6, 7, sep]}, {"input_ids": [cls, 5, sep]}]
    shares = dropped_share(tokenizer, [cls, sep, 5, 6], {"dev": dev, "train": dev[1:]}, "--prune-vocab")
    assert shares == {"dev": 0.25, "train": 0.0}  # piece 7: 1 of the 4 non-special pieces of dev
    assert "25.0% of the dev split's word pieces are not in the kept vocabulary" in caplog.text
    assert "train split" not in caplog.text
