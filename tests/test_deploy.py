"""Export (ONNX, int8), parity, predict, benchmark and evaluate-on-export, on tiny models."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from builders import make_model, run_cli, sentiment_rows
from tinybert.deploy.export import SAMPLE_TEXTS
from tinybert.deploy.outliers import input_ranges, outlier_channels, split_outliers
from tinybert.deploy.quantize import matrix_kind
from tinybert.deploy.runtime import load_inference_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier whose head is scaled up, so its predictions are clear-cut (as a trained one's)."""
    folder = make_model(tmp_path_factory.mktemp("deploy") / "model", layers=2, seed=3)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    with torch.no_grad():
        model.classifier.weight.mul_(20.0)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def exports(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three export kinds of ``model_dir``, made through the CLI."""
    root = tmp_path_factory.mktemp("exports")
    mp = pytest.MonkeyPatch()
    out = {}
    for kind, args in {
        "onnx": ["--format", "onnx"],
        "onnx-int8": ["--format", "onnx", "--quantize", "int8"],
        "pytorch-int8": ["--format", "torch", "--quantize", "int8"],
    }.items():
        out[kind] = root / kind
        code, err = run_cli(["export", "--model", model_dir, "--output", out[kind], *args], mp)
        assert code == 0, err
    mp.undo()
    return out


def _batch(tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    return dict(tokenizer(texts, padding=True, return_tensors="np"))


def test_onnx_export_is_self_contained_dynamic_and_matches_pytorch(model_dir: Path, exports: dict[str, Path]) -> None:
    folder = exports["onnx"]
    names = {p.name for p in folder.iterdir()}
    assert {"model.onnx", "config.json", "tokenizer.json", "export.json", "parity.json"} <= names
    info = json.loads((folder / "export.json").read_text())
    assert info["opset"] == 18 and info["kind"] == "onnx" and info["file"] == "model.onnx"
    assert info["parity"]["passed"] and info["parity"]["argmax_agreement"] == 1.0
    assert info["parity"]["max_abs_diff"] < 1e-4 and info["parity"]["samples"] == len(SAMPLE_TEXTS)
    # batch and sequence axes are symbolic, not the sizes the model was traced with
    graph = onnx.load(str(folder / "model.onnx")).graph
    for tensor in graph.input:
        dims = tensor.type.tensor_type.shape.dim
        assert [d.dim_param != "" for d in dims] == [True, True], tensor.name
    # a batch size and length never seen at export time, with padding
    texts = ["the film was good .", "bad", "it is a very very boring and ugly and weak film , really ."]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    onnx_logits = load_inference_model(folder).logits(_batch(tokenizer, texts))
    reference = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        expected = reference(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(onnx_logits, expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["onnx-int8", "pytorch-int8"])
def test_int8_exports_load_and_predict_like_the_model(model_dir: Path, exports: dict[str, Path], kind: str) -> None:
    folder = exports[kind]
    info = json.loads((folder / "export.json").read_text())
    assert info["kind"] == kind and info["parity"]["passed"]
    model = load_inference_model(folder)
    assert model.kind == kind
    texts = [s for s, _ in sentiment_rows(40, seed=9)]
    logits = model.logits(_batch(model.tokenizer, texts))
    reference = load_inference_model(model_dir).logits(_batch(model.tokenizer, texts))
    assert logits.shape == reference.shape == (40, 2)
    assert (logits.argmax(-1) == reference.argmax(-1)).mean() >= 0.95
    assert 0 < np.abs(logits - reference).max() < 0.5  # quantized: close, not identical
    if kind == "onnx-int8":
        assert info["size_bytes"] < (folder.parent / "onnx" / "model.onnx").stat().st_size
        # every int8 matrix product has one zero point (and scale) per output channel, not one per matrix
        graph = onnx.load(str(folder / "model_int8.onnx")).graph
        weights = {i.name: i for i in graph.initializer}
        products = [n for n in graph.node if n.op_type == "MatMulInteger"]  # (a, b, a_zero_point, b_zero_point)
        assert products
        for node in products:
            b, b_zero = weights[node.input[1]], weights[node.input[3]]
            assert list(b_zero.dims) == [b.dims[1]] and b.dims[1] > 1, node.name


def test_parity_failure_exits_2_and_keeps_the_export_for_inspection(model_dir: Path, tmp_path: Path) -> None:
    mp = pytest.MonkeyPatch()
    out = tmp_path / "strict"
    code, err = run_cli(["export", "--model", model_dir, "--output", out, "--quantize", "int8", "--max-diff", "0"], mp)
    mp.undo()
    assert code == 2
    assert "parity check failed" in err and "max |logit difference|" in err
    assert json.loads((out / "parity.json").read_text())["failures"]


@pytest.fixture(scope="module")
def outlier_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model_dir``'s shape with an activation outlier, as all-mpnet-base-v2 has in layers 6-10: one
    feed-forward neuron of each layer always ~10,000 (its bias) and read by nothing (its column of
    ``output.dense`` is zero), so the fp32 model is unchanged in kind but dynamic int8, which gives
    the input of ``output.dense`` one scale, rounds every other neuron of that input away."""
    folder = make_model(tmp_path_factory.mktemp("outlier") / "model", layers=2, seed=3)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    with torch.no_grad():
        model.classifier.weight.mul_(20.0)
        for layer in model.bert.encoder.layer:
            layer.intermediate.dense.bias[0] = 10_000.0
            layer.output.dense.weight[:, 0] = 0.0
            layer.output.dense.weight.mul_(5.0)
    model.save_pretrained(folder)
    return folder


def _fp32_matmuls(folder: Path) -> int:
    """Matrix products of an int8 ONNX export whose weight stayed fp32."""
    graph = onnx.load(str(folder / "model_int8.onnx")).graph
    weights = {i.name: i for i in graph.initializer}
    return sum(
        1
        for node in graph.node
        if node.op_type == "MatMul"
        and any(weights.get(x) is not None and weights[x].data_type == 1 for x in node.input)
    )


def test_int8_export_computes_outlier_channels_apart_when_all_int8_fails(outlier_model: Path, tmp_path: Path) -> None:
    mp = pytest.MonkeyPatch()
    refused = tmp_path / "all-int8"
    code, err = run_cli(
        ["export", "--model", outlier_model, "--output", refused, "--quantize", "int8", "--split-outliers", "off",
         "--keep-fp32", "none"], mp,
    )  # fmt: skip
    assert code == 2 and "argmax agreement" in err and "--keep-fp32" in err, err
    assert _fp32_matmuls(refused) == 0
    plain = json.loads((refused / "parity.json").read_text())

    auto = ["export", "--model", outlier_model, "--output", tmp_path / "auto", "--quantize", "int8"]
    code, out = run_cli([*auto, "--keep-fp32", "none"], mp, stdout=True)
    assert code == 0, out
    assert "outliers computed in fp32: 2 input channels of 2 weight matrices" in " ".join(out.split())
    info = json.loads((tmp_path / "auto" / "export.json").read_text())
    layers = [f"bert.encoder.layer.{i}.output.dense" for i in (0, 1)]
    assert info["split_outliers"] == dict.fromkeys(layers, 1) and info["fp32_matrices"] == []
    assert info["parity"]["argmax_agreement"] == 1.0 and plain["argmax_agreement"] < 0.95
    assert info["parity"]["max_abs_diff"] < plain["max_abs_diff"] / 3
    assert _fp32_matmuls(tmp_path / "auto") == 0  # every matrix product int8; the outliers element-wise
    assert not any(p.name.endswith(".part") for p in (tmp_path / "auto").iterdir())

    # on: split from the start, with no failed all-int8 export first (so nothing to say about it)
    code, out = run_cli(
        ["export", "--model", outlier_model, "--output", tmp_path / "on", "--quantize", "int8", "--split-outliers",
         "on", "--outlier-factor", "1000"], mp, stdout=True,
    )  # fmt: skip
    assert code == 0 and "outliers computed in fp32" not in out, out
    info = json.loads((tmp_path / "on" / "export.json").read_text())
    mp.undo()
    assert info["split_outliers"] == dict.fromkeys(layers, 1)  # only the 10,000 neuron is 1,000x the median


def test_int8_export_keeps_the_outlier_matrices_in_fp32_when_all_int8_fails(
    outlier_model: Path, tmp_path: Path
) -> None:
    mp = pytest.MonkeyPatch()
    code, out = run_cli(
        ["export", "--model", outlier_model, "--output", tmp_path / "auto", "--quantize", "int8", "--split-outliers",
         "off"], mp, stdout=True,
    )  # fmt: skip
    assert code == 0, out
    assert "kept in fp32: the output.dense weight matrices" in " ".join(out.split())
    info = json.loads((tmp_path / "auto" / "export.json").read_text())
    assert info["fp32_matrices"] == ["output.dense"] and info["parity"]["argmax_agreement"] == 1.0
    assert info["split_outliers"] == {}
    assert _fp32_matmuls(tmp_path / "auto") == 2  # output.dense of both layers; the rest int8
    assert not any(p.name.endswith(".part") for p in (tmp_path / "auto").iterdir())

    # named explicitly: the same graph; an unknown kind is refused with the model's kinds
    code, err = run_cli(
        ["export", "--model", outlier_model, "--output", tmp_path / "named", "--quantize", "int8", "--keep-fp32",
         "output.dense"], mp,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "named" / "export.json").read_text())["fp32_matrices"] == ["output.dense"]
    assert _fp32_matmuls(tmp_path / "named") == 2
    code, err = run_cli(
        ["export", "--model", outlier_model, "--output", tmp_path / "bad", "--quantize", "int8", "--keep-fp32", "ffn"],
        mp,
    )
    mp.undo()
    assert code == 2 and "no weight matrix of kind ffn" in err and "intermediate.dense" in err, err
    assert not (tmp_path / "bad").exists()


def test_outlier_channels_are_the_closed_form() -> None:
    ranges = torch.tensor([1.0, 2.0, 50.0, 1.5, 30.0, 2.5])  # median 2.0 (torch: the lower middle value)
    assert outlier_channels(ranges, 10).tolist() == [2, 4]  # over 20, largest first
    assert outlier_channels(ranges, 20).tolist() == [2]
    assert outlier_channels(ranges, 30).tolist() == []


def test_splitting_outliers_keeps_the_function(outlier_model: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(outlier_model).eval()
    tokenizer = AutoTokenizer.from_pretrained(outlier_model)
    batches = [dict(tokenizer(list(SAMPLE_TEXTS[i : i + 8]), padding=True, return_tensors="pt")) for i in (0, 8)]
    with torch.no_grad():
        before = [model(**b).logits for b in batches]
    ranges = input_ranges(model, batches)
    assert ranges["bert.encoder.layer.0.output.dense"][0] > 9_000  # the outlier neuron (GELU of 10,000)
    split = split_outliers(model, ranges, 20)
    assert split == {"bert.encoder.layer.0.output.dense": 1, "bert.encoder.layer.1.output.dense": 1}
    dense = model.bert.encoder.layer[0].output.dense
    assert dense.outlier_index.tolist() == [0] and not dense.weight[:, 0].any()
    with torch.no_grad():
        for batch, logits in zip(batches, before, strict=True):
            assert torch.allclose(model(**batch).logits, logits, atol=1e-5)
    with pytest.raises(ValueError, match=r"not an nn\.Linear as loaded"):
        split_outliers(model, ranges, 20)


def test_matrix_kind_is_the_name_within_a_layer() -> None:
    assert matrix_kind("model.bert.encoder.layer.7.output.dense") == "output.dense"
    assert matrix_kind("model.bert.encoder.layer.11.attention.output.dense") == "attention.output.dense"
    assert matrix_kind("model.encoder.encoder.layer.0.attention.attn.q") == "attention.attn.q"
    assert matrix_kind("model.transformer.layers.3.ffn.lin1") == "ffn.lin1"
    assert matrix_kind("model.classifier") == "classifier"


def test_parity_uses_task_dev_text(model_dir: Path, sst2_dir: Path, tmp_path: Path) -> None:
    mp = pytest.MonkeyPatch()
    args = ["export", "--model", model_dir, "--output", tmp_path / "o", "--task", "sst2", "--data-dir", sst2_dir]
    code, err = run_cli([*args, "--samples", "10"], mp)
    mp.undo()
    assert code == 0, err
    parity = json.loads((tmp_path / "o" / "parity.json").read_text())
    assert parity["samples"] == 10 and parity["source"].startswith("sst2 dev")


def test_export_with_a_pruned_vocabulary(model_dir: Path, sst2_dir: Path, tmp_path: Path) -> None:
    mp = pytest.MonkeyPatch()
    out = tmp_path / "small"
    args = ["export", "--model", model_dir, "--output", out, "--task", "sst2", "--data-dir", sst2_dir, "--prune-vocab"]
    code, err = run_cli(args, mp)
    assert code == 0, err
    info = json.loads((out / "export.json").read_text())
    full = AutoTokenizer.from_pretrained(model_dir)
    small = AutoTokenizer.from_pretrained(out)
    assert info["vocab"]["after"] == len(small) < info["vocab"]["before"] == len(full)
    assert info["parity"]["passed"] and not list(tmp_path.glob("*.tmp"))
    # the export and the original model agree on a dev sentence (its pieces are in the training data)
    text = (sst2_dir / "dev.tsv").read_text().splitlines()[1].split("\t")[0]
    original = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        expected = original(**full([text], return_tensors="pt")).logits.numpy()
    assert small.convert_ids_to_tokens(small(text)["input_ids"]) == full.convert_ids_to_tokens(full(text)["input_ids"])
    np.testing.assert_allclose(load_inference_model(out).logits(_batch(small, [text])), expected, atol=1e-4)
    code, err = run_cli(["export", "--model", model_dir, "--output", tmp_path / "x", "--prune-vocab"], mp)
    mp.undo()
    assert code == 2 and "--prune-vocab" in err and "--task" in err and not (tmp_path / "x").exists()


def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("backend", ["model", "onnx"])
def test_predict_matches_pipeline_and_keeps_columns(
    model_dir: Path, exports: dict[str, Path], tmp_path: Path, backend: str
) -> None:
    rows = [[str(i), s, str(y)] for i, (s, y) in enumerate(sentiment_rows(12, seed=4))]
    source = _write_rows(tmp_path / "in.csv", ["id", "sentence", "label"], rows)
    model = model_dir if backend == "model" else exports["onnx"] / "model.onnx"
    mp = pytest.MonkeyPatch()
    code, err = run_cli(["predict", "--model", model, "--input", source, "--output", tmp_path / "out.csv"], mp)
    mp.undo()
    assert code == 0, err
    with (tmp_path / "out.csv").open(newline="") as handle:
        out = list(csv.DictReader(handle))
    expected = pipeline("text-classification", model=str(model_dir))([r[1] for r in rows])
    assert [r["id"] for r in out] == [r[0] for r in rows] and [r["label"] for r in out] == [r[2] for r in rows]
    assert [r["predicted_label"] for r in out] == [e["label"] for e in expected]
    np.testing.assert_allclose([float(r["score"]) for r in out], [e["score"] for e in expected], atol=1e-4)


def test_predict_pairs_jsonl_with_int8(model_dir: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    pairs = [("the film was good .", "it was fun ."), ("bad plot", "the story is ugly and weak ."), ("nice", "sad")]
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps({"a": a, "b": b, "extra": i}) + "\n" for i, (a, b) in enumerate(pairs)))
    import tinybert

    summary = tinybert.predict(exports["pytorch-int8"], source, output=tmp_path / "out.jsonl", text_columns=["a", "b"])
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    expected = pipeline("text-classification", model=str(model_dir))([{"text": a, "text_pair": b} for a, b in pairs])
    assert summary.rows == 3 and [r["extra"] for r in out] == [0, 1, 2]
    assert [r["predicted_label"] for r in out] == [e["label"] for e in expected]
    np.testing.assert_allclose([r["score"] for r in out], [e["score"] for e in expected], atol=0.05)


def test_evaluate_an_export_scores_like_the_model(
    model_dir: Path, exports: dict[str, Path], sst2_dir: Path, tmp_path: Path
) -> None:
    import tinybert

    reference = tinybert.evaluate(model_dir, task="sst2", data_dir=sst2_dir)
    onnx_metrics = tinybert.evaluate(exports["onnx"], task="sst2", data_dir=sst2_dir, output=tmp_path / "m.json")
    assert onnx_metrics["dev"]["accuracy"] == pytest.approx(reference["dev"]["accuracy"])
    int8 = tinybert.evaluate(exports["onnx-int8"], task="sst2", data_dir=sst2_dir)
    assert abs(int8["dev"]["accuracy"] - reference["dev"]["accuracy"]) <= 0.1


def test_benchmark_writes_documented_fields_and_plot(model_dir: Path, exports: dict[str, Path], tmp_path: Path) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=64, intermediate=128)
    mp = pytest.MonkeyPatch()
    args = ["benchmark", "--model", teacher, "--model", model_dir, "--onnx", exports["onnx-int8"] / "model_int8.onnx"]
    settings = ["--batch-size", "1,4", "--seq-len", "16", "--warmup", "1", "--min-repeats", "3", "--min-seconds", "0"]
    code, err = run_cli([*args, *settings, "--threads", "1", "--output", tmp_path / "bench"], mp)
    mp.undo()
    assert code == 0, err
    summary = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    assert {"cpu", "logical_cores", "torch", "onnxruntime", "date", "device"} <= set(summary["environment"])
    assert summary["settings"]["seq_len"] == 16 and summary["settings"]["batch_sizes"] == [1, 4]
    kinds = [m["kind"] for m in summary["models"]]
    assert kinds == ["pytorch", "pytorch", "onnx-int8"]
    for result in summary["models"]:
        assert result["threads"] == 1 and result["parameters"] > 0 and result["size_bytes"] > 0
        assert result["peak_rss_mb"] > 0
        assert [row["batch_size"] for row in result["batches"]] == [1, 4]
        for row in result["batches"]:
            assert row["repeats"] >= 3 and row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
            assert row["throughput"] > 0 and row["latency_speedup"] > 0
    assert [row["latency_speedup"] for row in summary["models"][0]["batches"]] == [1.0, 1.0]
    assert summary["models"][1]["parameter_ratio"] > 1  # the teacher is bigger
    assert (tmp_path / "bench" / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--model", "{tmp}/missing", "--output", "{tmp}/o"], "folder not found"),
        (
            ["export", "--model", "{model}", "--output", "{tmp}/o", "--keep-fp32", "output.dense"],
            "--keep-fp32: output.dense: leaves matrices of an int8 ONNX export in fp32",
        ),
        (["export", "--model", "{model}", "--output", "{tmp}/o", "--format", "torch"], "needs --quantize int8"),
        (
            ["export", "--model", "{model}", "--output", "{tmp}/o", "--split-outliers", "on"],
            "--split-outliers: on: splits the weight matrices of an int8 ONNX export; give --quantize int8",
        ),
        (
            ["export", "--model", "{model}", "--output", "{tmp}/o", "--quantize", "int8", "--outlier-factor", "0.5"],
            "--outlier-factor: expected >= 1, got 0.5",
        ),
        (
            ["export", "--model", "{model}", "--output", "{tmp}/o", "--quantize", "int4"],
            "--quantize: 'int4': expected one of int8",
        ),
        (["export", "--model", "{model}", "--output", "{tmp}/o", "--sample-file", "{tmp}/x.csv"], "not found"),
        (["export", "--model", "{model}", "--output", "{model}"], "overlaps --model"),
        (["predict", "--model", "{model}", "--input", "{tmp}/missing.csv"], "not found"),
        (["predict", "--model", "{model}", "--input", "{tmp}/bad.csv", "--text-column", "review"], "missing column"),
        (["predict", "--model", "{model}", "--input", "{tmp}/bad.csv"], "no 'sentence' or 'text' column"),
        (["predict", "--model", "{model}", "--input", "{tmp}/binary.tsv"], "not valid UTF-8"),
        (["predict", "--model", "{tmp}/nothing.onnx", "--input", "{tmp}/bad.csv"], "ONNX file not found"),
        (["predict", "--model", "{tmp}/bad.csv", "--input", "{tmp}/bad.csv"], "expected a model folder"),
        (
            [
                "predict",
                "--model",
                "{model}",
                "--input",
                "{tmp}/bad.csv",
                "--text-column",
                "body",
                "--output",
                "{tmp}/bad.csv",
            ],
            "input file",
        ),
        (["benchmark", "--model", "{tmp}/missing", "--output", "{tmp}/b"], "not found"),
        (["benchmark", "--model", "{model}", "--output", "{tmp}/b", "--batch-size", "1,x"], "--batch-size"),
    ],
)
def test_bad_input_is_one_line_error(
    model_dir: Path, tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    _write_rows(tmp_path / "bad.csv", ["id", "body"], [["1", "good film"]])
    (tmp_path / "binary.tsv").write_bytes(b"sentence\n\xff\xfe\x00bad\n")
    mp = pytest.MonkeyPatch()
    code, err = run_cli([a.format(tmp=tmp_path, model=model_dir) for a in args], mp)
    mp.undo()
    assert code == 2, err
    assert err.startswith("error:") and message in err, err
    assert len(err.strip().splitlines()) <= 2  # one message (rich may wrap a long line)
    assert not (tmp_path / "o").exists()


def test_export_and_predict_a_model_without_token_types(tmp_path: Path) -> None:
    """DistilBERT-style models take no token_type_ids; the export and the runtime must not feed them."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from builders import VOCAB, make_tokenizer

    config = DistilBertConfig(
        vocab_size=len(VOCAB), dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64,
        id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1},
    )  # fmt: skip
    DistilBertForSequenceClassification(config).save_pretrained(tmp_path / "distil")
    make_tokenizer().save_pretrained(tmp_path / "distil")
    import tinybert

    summary = tinybert.export(tmp_path / "distil", tmp_path / "onnx")
    assert summary.inputs == ["input_ids", "attention_mask"] and summary.parity.passed
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "the film was good ."}\n{"text": "bad"}\n')
    tinybert.predict(tmp_path / "onnx", rows, output=tmp_path / "out.jsonl")
    expected = pipeline("text-classification", model=str(tmp_path / "distil"))(["the film was good .", "bad"])
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["predicted_label"] for r in out] == [e["label"] for e in expected]
